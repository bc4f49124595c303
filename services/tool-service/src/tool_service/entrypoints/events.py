"""The events tool-service consumes (contract §4): a queue per replica (every replica holds its
own caches and sessions, so every replica must hear every event), the platform's consumer,
`on(EventModel, handler)` per event (see `service_layer.reactions`), and a unit of work without
a database (see `adapters.memory_uow` for why that loses nothing)."""

from __future__ import annotations

from platform_core.broker import Broker
from platform_core.consumer import EventConsumer
from platform_core.observability import ServiceMetrics
from tool_service.adapters.memory_uow import MemoryTransactions
from tool_service.service_layer.reactions import Reactions
from tool_service.settings import SERVICE_NAME, ToolSettings

QUEUE = "tool-service.events"


def consumer(
    broker: Broker, metrics: ServiceMetrics, settings: ToolSettings, reactions: Reactions
) -> EventConsumer:
    return EventConsumer(
        broker,
        MemoryTransactions(f"/{SERVICE_NAME}"),
        metrics,
        settings.event_queue or QUEUE,
        reactions.subscriptions(),
        retry_delays_ms=settings.event_retry_delays_ms,
        prefetch=settings.event_prefetch,
        replica=settings.replica_id,
    )
