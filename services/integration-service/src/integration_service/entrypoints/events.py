"""The events integration-service consumes, each mapped to its handler."""

from __future__ import annotations

from collections.abc import Mapping

from integration_service.adapters.repositories import AppRepository, IntegrationRepository
from integration_service.service_layer.reactions import Reactions
from platform_core.app import Platform
from platform_core.consumer import EventHandler

QUEUE = "integration-service.events"


def event_handlers(platform: Platform) -> Mapping[str, EventHandler]:
    db, _, _ = platform.require()
    reactions = Reactions(AppRepository(db), IntegrationRepository(db))
    return {
        "authorization.completed": reactions.authorization_completed,
        "authorization.failed": reactions.authorization_failed,
        "credential.reauthorization_required": reactions.credential_lost,
        "credential.revoked": reactions.credential_lost,
    }
