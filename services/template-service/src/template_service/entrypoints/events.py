"""The events template-service consumes, each subscribed by its model to its handler."""

from __future__ import annotations

from aiohttp import web

from platform_core.app import Subscribed
from template_service.entrypoints.http import UOW_KEY
from template_service.service_layer.reactions import Reactions

QUEUE = "template-service.events"


def subscriptions(app: web.Application) -> Subscribed:
    return app[UOW_KEY], Reactions().subscriptions()
