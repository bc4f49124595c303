"""Calls from one platform service to another: the bearer token on the request, the answer's
JSON read leniently (a body that is not JSON is None, for the caller to judge by the status),
and no answer at all (a refused connection, a timeout) raised as `PeerUnreachable`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import aiohttp


class PeerAnswer(NamedTuple):
    status: int
    body: Any
    headers: Mapping[str, str]


class PeerUnreachable(Exception):
    """The peer did not answer; the message names only the kind of failure."""


async def call_peer(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str,
    *,
    json: Any = None,
    params: Mapping[str, str] | None = None,
    timeout: aiohttp.ClientTimeout | None = None,
) -> PeerAnswer:
    # Without a timeout of its own the call keeps the session's (None would mean none at all).
    options: dict[str, Any] = {} if timeout is None else {"timeout": timeout}
    try:
        async with session.request(
            method,
            url,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token}"},
            **options,
        ) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return PeerAnswer(response.status, body, response.headers)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise PeerUnreachable(type(exc).__name__) from None
