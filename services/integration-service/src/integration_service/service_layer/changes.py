"""Applying one transition to a stored integration inside a transaction, compare-and-set.

Both the HTTP commands and the event handlers change integrations through `apply_in`, so every
write goes through the same version check and every event through the same outbox.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from integration_service.domain.integration import Integration, Transition, new_integration
from integration_service.service_layer.ports import Tx
from platform_core.logs import get_logger

log = get_logger("integration_service.changes")

Decide = Callable[[Integration, datetime], Transition]


async def apply_in(
    tx: Tx, app_id: str, integration: str, decide: Decide, now: datetime
) -> Transition:
    """Read, decide, write: raises `VersionConflict` when someone else wrote in between."""
    current = await tx.repos.integrations.get(app_id, integration)
    transition = decide(current or new_integration(app_id, integration), now)
    if transition.changed:
        await tx.repos.integrations.save(transition.after)
        tx.publish_all(transition.events)
    log.info(
        "integration_transition",
        app_id=app_id,
        integration=integration,
        transition=transition.name,
        version=transition.after.version,
    )
    return transition
