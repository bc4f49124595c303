"""Judging a provider URL by what its host resolves to, with the resolver provider calls use.

The service layer's `ProviderDestinations` port over `platform_core.outbound_http`: the same
rules and the same resolver as the provider session, so a URL accepted here is one the session
would call today (and the session judges again at every call).
"""

from __future__ import annotations

from aiohttp.abc import AbstractResolver

from platform_core.outbound_http import DestinationRefused, check_provider_url_resolved


class ResolvedDestinations:
    def __init__(self, *, allow_insecure_loopback: bool, resolver: AbstractResolver | None) -> None:
        self._allow_insecure_loopback = allow_insecure_loopback
        self._resolver = resolver

    async def refusal(self, url: str) -> str | None:
        try:
            await check_provider_url_resolved(
                url, allow_insecure_loopback=self._allow_insecure_loopback, resolver=self._resolver
            )
        except DestinationRefused as exc:
            return str(exc)
        return None
