"""The one HTTP client of identity providers' token endpoints (RFC 6749 §4.1.3 and §6).

Token requests are form-encoded, with the client authenticated the way the integration's
manifest says (`client_secret_basic` or `client_secret_post`). Refreshes are retried on
timeouts, connection errors, 5xx and 429 with exponential backoff and full jitter, honouring
Retry-After, a bounded number of times; after a timeout the outcome is unknown, so the retry
resends the same refresh token only when the provider accepts a rotated one again for a while
(its manifest's `reuse_leeway_seconds`). A code is never resent. Answers are read up to a
bounded size and parsed strictly; whatever is not a token response is `ProviderUnavailable`,
and a refusal carries one of the protocol's error codes, never the provider's own string.
Nothing here logs a request body or a token.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from auth_service.domain.credential import TokenSet
from auth_service.domain.errors import ProviderRefused, ProviderUnavailable
from auth_service.domain.oauth import (
    MalformedTokenResponse,
    error_code,
    parse_token_response,
    safe_description,
    token_request,
)
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.secrets import Secret
from platform_core.contract_types import utc_now
from platform_core.logs import get_logger
from platform_core.observability import ProviderCallMetrics
from platform_core.outbound_http import (
    DestinationRefused,
    MalformedResponse,
    ResponseTooLarge,
    parse_json_object,
    read_bounded,
    request,
)

log = get_logger("auth_service.provider")

MAX_TOKEN_RESPONSE_BYTES = 64 * 1024


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
    def __init__(self, reason: str, retry_after: float | None = None, *, sent: bool) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        # Whether the request may have reached the provider (its outcome is then unknown).
        self.sent = sent


class TokenEndpointClient:
    def __init__(
        self, session: aiohttp.ClientSession, policy: RetryPolicy, metrics: ProviderCallMetrics
    ) -> None:
        self._session = session
        self.policy = policy
        self._metrics = metrics

    async def exchange_code(
        self, client: OAuthClient, code: str, verifier: Secret | None
    ) -> TokenSet:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": client.callback_url,
        }
        if verifier is not None:
            form["code_verifier"] = verifier.reveal()
        try:
            body = await self._post_token(client, client.token_url, form)
        except _Retryable as exc:  # a code is single-use: never resend it
            raise ProviderUnavailable(str(exc)) from None
        return _tokens(body, client)

    async def refresh(self, client: OAuthClient, refresh_token: Secret) -> TokenSet:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token.reveal()}
        resend_ok = client.provider.oauth.refresh_tokens.reuse_leeway_seconds > 0
        for attempt in range(self.policy.attempts):
            try:
                body = await self._post_token(client, client.refresh_url, form)
            except _Retryable as exc:
                log.warning("token_refresh_retryable", reason=str(exc), attempt=attempt + 1)
                if attempt + 1 == self.policy.attempts or (exc.sent and not resend_ok):
                    raise ProviderUnavailable(str(exc)) from None
                await asyncio.sleep(self.policy.delay(attempt, exc.retry_after))
                continue
            return _tokens(body, client)
        raise ProviderUnavailable("no attempt made")

    async def _post_token(
        self, client: OAuthClient, url: str, form: dict[str, str]
    ) -> dict[str, Any]:
        data, headers = token_request(
            form,
            client_id=client.client_id,
            client_secret=client.client_secret,
            method=client.auth_method,
        )
        timeout = aiohttp.ClientTimeout(total=self.policy.timeout_seconds)
        integration, started = client.provider.integration, time.monotonic()
        try:
            async with request(
                self._session, "POST", url, data=data, headers=headers, timeout=timeout
            ) as resp:
                status = resp.status
                self._metrics.answered(integration, "token", status, time.monotonic() - started)
                retry_after = _retry_after(resp.headers.get("Retry-After"))
                if status == 429 or status >= 500:
                    raise _Retryable(f"status {status}", retry_after, sent=False)
                raw = await read_bounded(resp, MAX_TOKEN_RESPONSE_BYTES)
        except TimeoutError:
            self._metrics.failed(integration, "token", True, time.monotonic() - started)
            raise _Retryable("timeout", sent=True) from None
        except DestinationRefused as exc:
            raise ProviderUnavailable(str(exc)) from None
        except ResponseTooLarge:
            raise ProviderUnavailable("the token endpoint answered too much") from None
        except aiohttp.ClientError as exc:
            self._metrics.failed(integration, "token", False, time.monotonic() - started)
            raise _Retryable(f"connection: {type(exc).__name__}", sent=True) from None
        try:
            body = parse_json_object(raw)
        except MalformedResponse as exc:
            raise ProviderUnavailable(f"token endpoint answered {status}: {exc}") from None
        if status >= 400 or "error" in body:
            raise ProviderRefused(
                error_code(body.get("error")),
                safe_description(body.get("error_description")),
                status,
            )
        return body


def _tokens(body: dict[str, Any], client: OAuthClient) -> TokenSet:
    try:
        return parse_token_response(body, utc_now(), client.scopes)
    except MalformedTokenResponse as exc:
        raise ProviderUnavailable(f"unusable token response: {exc}") from None


def _retry_after(value: str | None) -> float | None:
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), 3600.0)
