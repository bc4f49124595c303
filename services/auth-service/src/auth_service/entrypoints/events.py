"""The events auth-service consumes (contract §4), each subscribed by its model to its handler."""

from __future__ import annotations

from aiohttp import web

from auth_service.entrypoints.http import CREDENTIALS_KEY, UOW_KEY
from platform_core.app import Subscribed

QUEUE = "auth-service.events"


def subscriptions(app: web.Application) -> Subscribed:
    return app[UOW_KEY], app[CREDENTIALS_KEY].subscriptions()
