"""The named provider quirks, dispatched by the name an integration's manifest gives
(`provider.post_connection`), never by comparing provider names (authlib's compliance hooks are
the model). Adding a quirk is adding an entry here; a manifest naming an unknown hook stops the
service at start-up.

- `atlassian_accessible_resources`: after a consent, list the sites the token reaches
  (`GET {api_base_url}/oauth/token/accessible-resources` → `[{"id", "name", "url", ...}]`, in
  no meaningful order), so the credential can be bound to exactly one of them.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp

from auth_service.domain.authorization import Site
from auth_service.domain.errors import ProviderUnavailable
from auth_service.domain.providers import Provider
from auth_service.domain.secrets import Secret
from platform_core.observability import ProviderCallMetrics
from platform_core.outbound_http import (
    OutboundError,
    parse_json_document,
    read_bounded,
    request,
)

MAX_SITES_BYTES = 256 * 1024
MAX_SITES = 500

SitesHook = Callable[
    [aiohttp.ClientSession, Provider, Secret, float, ProviderCallMetrics], Awaitable[list[Site]]
]


async def atlassian_accessible_resources(
    session: aiohttp.ClientSession,
    provider: Provider,
    access_token: Secret,
    timeout: float,
    metrics: ProviderCallMetrics,
) -> list[Site]:
    url = f"{provider.oauth.api_base_url}/oauth/token/accessible-resources"
    headers = {"Authorization": f"Bearer {access_token.reveal()}", "Accept": "application/json"}
    integration, started = provider.integration, time.monotonic()
    try:
        async with request(
            session, "GET", url, headers=headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as resp:
            metrics.answered(integration, "sites", resp.status, time.monotonic() - started)
            if resp.status != 200:
                raise ProviderUnavailable(f"accessible-resources answered {resp.status}")
            body = parse_json_document(await read_bounded(resp, MAX_SITES_BYTES))
    except OutboundError as exc:  # refused before sending, or an answer too large to read
        raise ProviderUnavailable(f"accessible-resources: {type(exc).__name__}") from None
    except (TimeoutError, aiohttp.ClientError) as exc:
        timed_out = isinstance(exc, TimeoutError)
        metrics.failed(integration, "sites", timed_out, time.monotonic() - started)
        raise ProviderUnavailable(f"accessible-resources: {type(exc).__name__}") from None
    return parse_sites(body)


def parse_sites(body: Any) -> list[Site]:
    if not isinstance(body, list) or len(body) > MAX_SITES:
        raise ProviderUnavailable("accessible-resources did not answer a list of sites")
    sites = []
    for item in body:
        if not isinstance(item, dict):
            raise ProviderUnavailable("accessible-resources answered an item that is no site")
        cloud_id, url, name = item.get("id"), item.get("url"), item.get("name")
        if not (isinstance(cloud_id, str) and _fits(cloud_id, 128)) or not (
            isinstance(url, str) and _fits(url, 2048)
        ):
            raise ProviderUnavailable("accessible-resources answered an item without id or url")
        shown = name if isinstance(name, str) and _fits(name, 256) else url
        sites.append(Site(cloud_id, shown, url))
    return sites


def _fits(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit


SITES_HOOKS: Mapping[str, SitesHook] = {
    "atlassian_accessible_resources": atlassian_accessible_resources,
}


class Hooks:
    """The registry the service layer's `PostConnectionHooks` port reaches."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        timeout_seconds: float,
        metrics: ProviderCallMetrics,
    ) -> None:
        self._session = session
        self._timeout = timeout_seconds
        self._metrics = metrics

    @staticmethod
    def known(name: str) -> bool:
        return name in SITES_HOOKS

    def knows(self, name: str) -> bool:
        return self.known(name)

    async def sites(self, name: str, provider: Provider, access_token: Secret) -> list[Site]:
        hook = SITES_HOOKS[name]
        return await hook(self._session, provider, access_token, self._timeout, self._metrics)
