"""The events auth-service consumes (contract §4), each mapped to its handler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from auth_service.service_layer import credentials
from platform_core.app import Platform
from platform_core.consumer import EventHandler
from platform_core.events import CloudEvent, IntegrationConfigured, IntegrationRemoved
from platform_core.unit_of_work import Transaction

QUEUE = "auth-service.events"


async def integration_removed(tx: Transaction, envelope: CloudEvent, data: Any) -> None:
    assert isinstance(data, IntegrationRemoved)
    await credentials.on_integration_removed(tx, data)


async def integration_configured(tx: Transaction, envelope: CloudEvent, data: Any) -> None:
    assert isinstance(data, IntegrationConfigured)
    await credentials.on_integration_configured(tx, data)


def event_handlers(platform: Platform) -> Mapping[str, EventHandler]:
    return {
        "integration.removed": integration_removed,
        "integration.configured": integration_configured,
    }
