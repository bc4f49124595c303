"""The events auth-service consumes, each mapped to its handler."""

from __future__ import annotations

from collections.abc import Mapping

from platform_core.app import Platform
from platform_core.consumer import EventHandler

QUEUE = "auth-service.events"


def event_handlers(platform: Platform) -> Mapping[str, EventHandler]:
    return {}
