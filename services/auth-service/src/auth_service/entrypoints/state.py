"""Where the views find the service layer: filled by the composition root's start-up context."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from auth_service.service_layer.context import Context
from auth_service.service_layer.tokens import TokenService


@dataclass
class Wiring:
    context: Context | None = None
    tokens: TokenService | None = None

    def require(self) -> tuple[Context, TokenService]:
        if self.context is None or self.tokens is None:
            raise RuntimeError("auth-service is not started")
        return self.context, self.tokens


WIRING_KEY = web.AppKey("auth_wiring", Wiring)


def wired(request: web.Request) -> tuple[Context, TokenService]:
    return request.app[WIRING_KEY].require()
