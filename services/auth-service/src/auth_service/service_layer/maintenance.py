"""Background upkeep: keep quiet credentials alive, end dances nobody finished.

Atlassian expires a refresh token unused for 90 days, so a credential not refreshed for
REFRESH_KEEPALIVE_DAYS (counted from the consent or the last refresh, `tokens_obtained_at`) is
refreshed through the same single-flight path as the access-token
call (never a second, racing path).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from auth_service.adapters.collections import CREDENTIALS
from auth_service.service_layer import links
from auth_service.service_layer.context import Context
from auth_service.service_layer.tokens import TokenService
from platform_core.contract_types import utc_now
from platform_core.errors import ProblemError
from platform_core.logs import get_logger

log = get_logger("auth_service.maintenance")


async def keep_alive(ctx: Context, tokens: TokenService) -> int:
    """Refresh up to a batch of active credentials idle for the keep-alive period."""
    cutoff = utc_now() - timedelta(days=ctx.settings.refresh_keepalive_days)
    cursor = (
        ctx.db[CREDENTIALS]
        .find({"status": "active", "tokens_obtained_at": {"$lte": cutoff}})
        .sort("tokens_obtained_at", 1)
        .limit(ctx.settings.keepalive_batch)
    )
    refreshed = 0
    async for doc in cursor:
        try:
            await tokens.refresh(doc)
        except ProblemError as exc:
            log.warning("keepalive_refresh_failed", credential_id=doc["_id"], code=exc.code)
        else:
            refreshed += 1
    return refreshed


async def run_forever(ctx: Context, tokens: TokenService) -> None:
    while True:
        try:
            kept = await keep_alive(ctx, tokens)
            ended = await links.sweep_stale(ctx)
        except Exception as exc:  # the next round retries; the loop must outlive a bad round
            log.warning("maintenance_failed", error=type(exc).__name__)
        else:
            if kept or ended:
                log.info("maintenance", refreshed=kept, authorizations_ended=ended)
        await asyncio.sleep(ctx.settings.keepalive_interval_seconds)
