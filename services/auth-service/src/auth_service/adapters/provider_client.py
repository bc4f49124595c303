"""The one HTTP client of identity providers and their APIs (RFC 6749 §4.1.3 and §6).

Token requests are form-encoded with the client credentials in the body (client_secret_post,
as Atlassian wants). Refreshes are retried on timeouts, connection errors, 5xx and 429 with
exponential backoff and full jitter, honouring Retry-After, a bounded number of times; after a
timeout the outcome is unknown, and the retry sends the same refresh token (Atlassian accepts
reuse within 10 minutes). Nothing here logs a request body or a token.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import aiohttp

from auth_service.domain.authorizations import Site, parse_sites
from auth_service.domain.credentials import TokenSet, parse_token_response
from auth_service.domain.profiles import OAuthClient
from platform_core.contract_types import utc_now
from platform_core.logs import get_logger

log = get_logger("auth_service.provider")


class OAuthError(Exception):
    """The provider refused (RFC 6749 §5.2): `invalid_grant`, `invalid_client`..."""

    def __init__(self, error: str, description: str | None, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


class ProviderUnavailable(Exception):
    """The provider could not answer: timeouts, connection errors, 5xx, 429, garbage."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    timeout_seconds: float = 10.0
    backoff_seconds: float = 0.25
    max_backoff_seconds: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        ceiling = min(self.backoff_seconds * 2**attempt, self.max_backoff_seconds)
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not security


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ProviderClient:
    def __init__(self, session: aiohttp.ClientSession, policy: RetryPolicy) -> None:
        self._session = session
        self.policy = policy

    async def exchange_code(self, client: OAuthClient, code: str, verifier: str | None) -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.callback_url,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
        if verifier is not None:
            form["code_verifier"] = verifier
        try:
            body = await self._post_token(client.token_url, form)
        except _Retryable as exc:  # a code is single-use: never resend it
            raise ProviderUnavailable(str(exc)) from None
        return parse_token_response(body, utc_now(), client.scopes)

    async def refresh(self, client: OAuthClient, refresh_token: str) -> TokenSet:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        }
        for attempt in range(self.policy.attempts):
            try:
                body = await self._post_token(client.refresh_url, form)
            except _Retryable as exc:
                log.warning("token_refresh_retryable", reason=str(exc), attempt=attempt + 1)
                if attempt + 1 == self.policy.attempts:
                    raise ProviderUnavailable(str(exc)) from None
                await asyncio.sleep(self.policy.delay(attempt, exc.retry_after))
                continue
            return parse_token_response(body, utc_now(), client.scopes)
        raise ProviderUnavailable("no attempt made")

    async def _post_token(self, url: str, form: dict[str, str]) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_seconds)
        headers = {"Accept": "application/json"}
        try:
            async with self._session.post(url, data=form, timeout=timeout, headers=headers) as resp:
                status = resp.status
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                try:
                    body = await resp.json(content_type=None)
                except ValueError:
                    body = None
        except TimeoutError:
            raise _Retryable("timeout") from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"connection: {type(exc).__name__}") from None
        if status == 429 or status >= 500:
            raise _Retryable(f"status {status}", retry_after)
        if not isinstance(body, dict):
            raise ProviderUnavailable(f"token endpoint answered {status} without a JSON object")
        if status >= 400 or "error" in body:
            error = body.get("error")
            description = body.get("error_description")
            raise OAuthError(
                str(error) if error else f"http_{status}",
                str(description) if description else None,
                status,
            )
        return body

    async def accessible_sites(self, url: str, access_token: str) -> list[Site]:
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_seconds)
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        try:
            async with self._session.get(url, headers=headers, timeout=timeout) as resp:
                if resp.status != 200:
                    raise ProviderUnavailable(f"accessible-resources answered {resp.status}")
                body = await resp.json(content_type=None)
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise ProviderUnavailable(f"accessible-resources: {type(exc).__name__}") from None
        try:
            return parse_sites(body)
        except ValueError as exc:
            raise ProviderUnavailable(str(exc)) from None


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
