"""The events integration-service consumes, each subscribed by its model to its handler."""

from __future__ import annotations

from aiohttp import web

from integration_service.entrypoints.http import CATALOG_KEY, UOW_KEY
from integration_service.service_layer.reactions import Reactions
from platform_core.app import Subscribed

QUEUE = "integration-service.events"


def subscriptions(app: web.Application) -> Subscribed:
    return app[UOW_KEY], Reactions(app[CATALOG_KEY]).subscriptions()
