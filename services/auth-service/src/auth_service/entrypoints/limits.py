"""Request rate limits (contract §5, RATE_LIMIT_PER_MINUTE): per client address on the browser
routes, per calling JWT `sub` on `POST /v1/authorizations`.

A token bucket per key, holding at most a minute's allowance and refilled continuously, so a
burst up to the limit passes and a steady caller gets its rate; over it, the caller learns how
many seconds until one more request passes (Retry-After, RFC 9110 §10.2.3). The buckets live in
this process: each replica counts on its own, so N replicas allow up to N times the limit. The
number of keys is bounded: past it the least recently seen bucket is forgotten (most likely a
full one, which changes nothing).

The client address is the TCP peer, or, behind TRUSTED_PROXY_HOPS reverse proxies that append
to X-Forwarded-For, the entry that many from its right (what the outermost trusted proxy saw).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

MAX_KEYS = 100_000
FORWARDED_FOR = "X-Forwarded-For"


class RateLimiter:
    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self._capacity = float(per_minute)
        self._per_second = per_minute / 60.0
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> int | None:
        """Count one request of `key`: None when it may pass, else the seconds to wait."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self._capacity, now))
        tokens = min(self._capacity, tokens + (now - then) * self._per_second)
        if tokens >= 1.0:
            self._remember(key, tokens - 1.0, now)
            return None
        self._remember(key, tokens, now)
        return max(1, math.ceil((1.0 - tokens) / self._per_second))

    def _remember(self, key: str, tokens: float, now: float) -> None:
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)


@dataclass(frozen=True)
class Limits:
    browser: RateLimiter
    issuing: RateLimiter
    trusted_proxy_hops: int

    @classmethod
    def per_minute(cls, limit: int, trusted_proxy_hops: int) -> Limits:
        return cls(RateLimiter(limit), RateLimiter(limit), trusted_proxy_hops)

    def client_address(self, request: web.BaseRequest) -> str:
        if self.trusted_proxy_hops:
            hops = [h.strip() for h in request.headers.get(FORWARDED_FOR, "").split(",")]
            hops = [h for h in hops if h]
            if len(hops) >= self.trusted_proxy_hops:
                return hops[-self.trusted_proxy_hops]
        return request.remote or "unknown"


LIMITS_KEY = web.AppKey("limits", Limits)
