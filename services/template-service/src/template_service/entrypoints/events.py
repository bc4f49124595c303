"""The events template-service consumes, each mapped to its handler."""

from __future__ import annotations

from collections.abc import Mapping

from platform_core.app import Platform
from platform_core.consumer import EventHandler
from template_service.adapters.repositories import (
    DialogTaskRepository,
    IntegrationStateRepository,
)
from template_service.service_layer.reactions import Reactions

QUEUE = "template-service.events"


def event_handlers(platform: Platform) -> Mapping[str, EventHandler]:
    db, _, _ = platform.require()
    reactions = Reactions(IntegrationStateRepository(db), DialogTaskRepository(db))
    return {
        "integration.configured": reactions.configured,
        "integration.disabled": reactions.disabled,
        "integration.enabled": reactions.enabled,
        "integration.removed": reactions.removed,
    }
