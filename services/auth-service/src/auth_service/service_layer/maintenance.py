"""Background upkeep: keep quiet credentials alive, end dances nobody finished.

A provider whose refresh tokens die unused (Atlassian: 90 days, its manifest's
`refresh_tokens.idle_lifetime_days`) has each credential not refreshed for
REFRESH_KEEPALIVE_DAYS (counted from the consent or the last refresh, `tokens_obtained_at`)
refreshed through the same single-flight path as the access-token call (never a second, racing
path). Each credential is handled on its own: one whose provider fails is pushed back (a
growing delay, in this process) instead of blocking the others, and the sweeper runs whatever
the keep-alive round did.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from auth_service.domain.providers import Providers
from auth_service.service_layer.links import Links
from auth_service.service_layer.ports import Clock, Units
from auth_service.service_layer.tokens import Tokens
from platform_core.contract_types import utc_now
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.maintenance")

FIRST_BACKOFF = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=12)


@dataclass
class _Backoff:
    """When each failing credential may be tried again, and how long the next wait is."""

    until: dict[str, datetime] = field(default_factory=dict)
    wait: dict[str, timedelta] = field(default_factory=dict)

    def ready(self, credential_id: str, now: datetime) -> bool:
        return self.until.get(credential_id, now) <= now

    def failed(self, credential_id: str, now: datetime) -> None:
        wait = min(self.wait.get(credential_id, FIRST_BACKOFF / 2) * 2, MAX_BACKOFF)
        self.wait[credential_id] = wait
        self.until[credential_id] = now + wait

    def succeeded(self, credential_id: str) -> None:
        self.until.pop(credential_id, None)
        self.wait.pop(credential_id, None)


class Maintenance:
    def __init__(
        self,
        uow: Units,
        providers: Providers,
        tokens: Tokens,
        links: Links,
        *,
        keepalive_days: int,
        batch: int,
        interval_seconds: float,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._tokens = tokens
        self._links = links
        self._keepalive = timedelta(days=keepalive_days)
        self._batch = batch
        self._interval = interval_seconds
        self._clock = clock
        self._backoff = _Backoff()
        self._integrations = [
            p.integration for p in providers if p.oauth.refresh_tokens.idle_lifetime_days
        ]

    async def keep_alive(self) -> int:
        """Refresh the active credentials idle for the keep-alive period; how many succeeded."""
        if not self._integrations:
            return 0
        now = self._clock()
        reads = self._uow.reads()
        idle = await reads.credentials.idle_since(
            now - self._keepalive, self._integrations, self._batch + len(self._backoff.until)
        )
        refreshed = 0
        for credential_id in [c for c in idle if self._backoff.ready(c, now)][: self._batch]:
            if await self._keep_one(credential_id):
                refreshed += 1
        return refreshed

    async def _keep_one(self, credential_id: str) -> bool:
        try:
            credential = await self._uow.reads().credentials.get(credential_id)
            if credential is None or credential.status != "active":
                return False
            await self._tokens.refresh(credential)
        except ProblemError as exc:
            log.warning("keepalive_refresh_failed", credential_id=credential_id, error=exc.code)
        except Exception as exc:  # one credential's surprise must not stop the others
            log.error("keepalive_refresh_crashed", credential_id=credential_id, exc_info=exc)
        else:
            self._backoff.succeeded(credential_id)
            return True
        self._backoff.failed(credential_id, self._clock())
        return False

    async def sweep(self) -> int:
        return await self._links.sweep_stale()

    async def run_forever(self) -> None:
        while True:
            kept = await self._round(self.keep_alive, "keepalive")
            ended = await self._round(self.sweep, "sweep")
            if kept or ended:
                log.info("maintenance", refreshed=kept, authorizations_ended=ended)
            await asyncio.sleep(self._interval)

    @staticmethod
    async def _round(step: object, name: str) -> int:
        try:
            return int(await step())  # type: ignore[operator]
        except Exception as exc:  # the next round retries; the loop must outlive a bad round
            log.warning("maintenance_failed", step=name, error=type(exc).__name__)
            return 0
