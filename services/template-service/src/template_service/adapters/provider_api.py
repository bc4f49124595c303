"""Calls to a provider's API for a run's service nodes, through the guarded outbound session.

The url is sent exactly as rendered (already percent-encoded: a `%2F` in an id stays one path
segment), the query encoded by yarl, JSON bodies as JSON, the token as a bearer header. No
redirect is followed, no cookie kept, and the answer is read up to a bounded size; a body that
is not JSON is kept as (cut) text. Any HTTP status is an answer; only a timeout or a failed
connection raises `ProviderCallFailed`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from yarl import URL

from platform_core.observability import ProviderCallMetrics
from platform_core.outbound_http import (
    DestinationRefused,
    MalformedResponse,
    ResponseTooLarge,
    parse_json_document,
    read_bounded,
)
from template_service.service_layer.ports import (
    ProviderCallFailed,
    ProviderRequest,
    ProviderResponse,
)

KEPT_HEADERS = ("retry-after", "x-ratelimit-reset", "content-type", "location")
MAX_TEXT = 2000


class ProviderApiClient:
    def __init__(
        self, session: aiohttp.ClientSession, max_body_bytes: int, metrics: ProviderCallMetrics
    ) -> None:
        self._session = session
        self._max_body = max_body_bytes
        self._metrics = metrics

    async def call(self, request: ProviderRequest, timeout_seconds: float) -> ProviderResponse:
        started = time.monotonic()
        try:
            response = await self._call(request, timeout_seconds)
        except ProviderCallFailed as exc:
            seconds = time.monotonic() - started
            self._metrics.failed(request.integration, "api", exc.timed_out, seconds)
            raise
        seconds = time.monotonic() - started
        self._metrics.answered(request.integration, "api", response.status, seconds)
        return response

    async def _call(self, request: ProviderRequest, timeout_seconds: float) -> ProviderResponse:
        url = URL(request.url, encoded=True)
        if request.query:
            url = url.with_query(request.query)
        headers = {**request.headers, "Authorization": f"Bearer {request.access_token}"}
        data = None
        if request.body is not None:
            data = json.dumps(request.body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            async with self._session.request(
                request.method,
                url,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            ) as response:
                kept = {
                    name: response.headers[name]
                    for name in KEPT_HEADERS
                    if name in response.headers
                }
                raw = await read_bounded(response, self._max_body)
                return ProviderResponse(response.status, kept, _body(raw))
        except TimeoutError:
            raise ProviderCallFailed(
                "the provider did not answer in time", timed_out=True
            ) from None
        except DestinationRefused as exc:
            raise ProviderCallFailed(str(exc), timed_out=False) from None
        except ResponseTooLarge:
            raise ProviderCallFailed("the provider answered too much", timed_out=False) from None
        except aiohttp.ClientError as exc:
            raise ProviderCallFailed(f"connection: {type(exc).__name__}", timed_out=False) from None


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return parse_json_document(raw)
    except MalformedResponse:
        return raw[:MAX_TEXT].decode("utf-8", "replace")
