"""integration-service served for real (MongoDB, RabbitMQ, consumer) beside an auth-service stub.

The stub speaks the agreed `POST /v1/authorizations` contract and checks the service token;
auth-service's events are injected as real CloudEvents on the `integrations` exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from devinfra.process import free_port
from integration_manifests import load_integrations
from integration_service.app import create_app
from integration_service.settings import IntegrationSettings
from platform_core.broker import Broker
from platform_core.service_auth import Caller, verify_token
from tests.support.apps import ServiceUnderTest, UpstreamEvents, serving
from tests.support.events import EventTap
from tests.support.infra import TEST_JWT_SECRET, Infra

Client = TestClient[web.Request, web.Application]


@dataclass
class AuthStub:
    """auth-service's authorization endpoint as agreed; `answer` overrides the next answers."""

    port: int
    requests: list[dict[str, Any]] = field(default_factory=list)
    callers: list[Caller] = field(default_factory=list)
    profile_checks: list[str] = field(default_factory=list)
    custom_profiles: dict[str, str] = field(default_factory=dict)  # profile_id -> app_id
    system_available: bool = True
    answer: tuple[int, dict[str, Any]] | None = None
    answer_headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _overridden(self, request: web.Request) -> web.Response | None:
        self.callers.append(
            verify_token(
                request.headers.get("Authorization", "").removeprefix("Bearer "), TEST_JWT_SECRET
            )
        )
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        if self.answer is not None:
            status, answer = self.answer
            return web.json_response(
                answer,
                status=status,
                content_type="application/problem+json",
                headers=self.answer_headers,
            )
        return None

    async def system_profiles(self, request: web.Request) -> web.Response:
        self.profile_checks.append("system")
        if (overridden := await self._overridden(request)) is not None:
            return overridden
        item = {
            "profile_id": "system:confluence",
            "integration": "confluence",
            "idp_name": "Atlassian",
            "scopes": ["write:confluence-content", "offline_access"],
            "callback_url": f"{self.url}/oauth/callback",
            "available": self.system_available,
        }
        return web.json_response({"items": [item], "next_cursor": None})

    async def custom_profile(self, request: web.Request) -> web.Response:
        profile_id = request.match_info["profile_id"]
        self.profile_checks.append(profile_id)
        if (overridden := await self._overridden(request)) is not None:
            return overridden
        if self.custom_profiles.get(profile_id) != request.match_info["app_id"]:
            return problem(404, "auth_profile_not_found", "No such profile for this app")
        return web.json_response(
            {"profile_id": profile_id, "integration": "confluence", "client_secret_set": True}
        )

    async def create_authorization(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if (overridden := await self._overridden(request)) is not None:
            return overridden
        profile = body["profile"]
        if profile["kind"] == "system" and not self.system_available:
            return problem(503, "system_profile_unavailable", "No system OAuth app")
        if (
            profile["kind"] == "custom"
            and self.custom_profiles.get(profile["profile_id"]) != body["app_id"]
        ):
            return problem(422, "auth_profile_not_found", "No such profile for this app")
        number = next(self._ids)
        expires = datetime.now(UTC) + timedelta(minutes=10)
        return web.json_response(
            {
                "authorization_id": f"authz-{number}",
                "authorization_url": f"{self.url}/connect/opaque-{number}",
                "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "status": "pending",
            },
            status=201,
        )


def problem(status: int, code: str, detail: str) -> web.Response:
    return web.json_response(
        {
            "type": f"urn:problem:{code}",
            "title": code,
            "status": status,
            "detail": detail,
            "code": code,
        },
        status=status,
        content_type="application/problem+json",
    )


@pytest.fixture
async def auth_stub() -> AsyncIterator[AuthStub]:
    stub = AuthStub(free_port())
    app = web.Application()
    app.router.add_post("/v1/authorizations", stub.create_authorization)
    app.router.add_get("/v1/auth-profiles/system", stub.system_profiles)
    app.router.add_get("/v1/apps/{app_id}/auth-profiles/{profile_id}", stub.custom_profile)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stub.port).start()
    yield stub
    await runner.cleanup()


class Service(ServiceUnderTest):
    async def put_app(self, app_id: str, edition: str = "developer") -> None:
        status, body = await self.call(
            "PUT", f"/v1/apps/{app_id}", {"name": f"App {app_id}", "edition": edition}
        )
        assert status in (200, 201), body

    async def integration(self, app_id: str, name: str = "confluence") -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/apps/{app_id}/integrations/{name}")
        assert status == 200, body
        return dict(body)

    async def configure(
        self, app_id: str, kind: str, profile: dict[str, str] | None = None, **extra: Any
    ) -> tuple[int, Any]:
        payload = {"type": kind, "profile": profile or {"kind": "system"}, **extra}
        return await self.call(
            "PUT", f"/v1/apps/{app_id}/integrations/confluence/authorization", payload
        )


@contextlib.asynccontextmanager
async def running_service(settings: IntegrationSettings, token: str) -> AsyncIterator[Service]:
    app = create_app(settings, load_integrations({}))
    async with serving(app) as client:
        yield Service(client, app, {"Authorization": f"Bearer {token}"}, settings.event_queue)


@pytest.fixture
def integration_settings(
    service_settings: Callable[[str], dict[str, object]], auth_stub: AuthStub
) -> IntegrationSettings:
    return IntegrationSettings(
        **service_settings("integration-service"),  # type: ignore[arg-type]
        auth_service_url=auth_stub.url,
        auth_service_timeout_seconds=1.0,
    )


@pytest.fixture
async def service(
    integration_settings: IntegrationSettings, token: Callable[..., str]
) -> AsyncIterator[Service]:
    async with running_service(integration_settings, token()) as running:
        yield running


class AuthEvents(UpstreamEvents):
    """Events as auth-service publishes them."""


@pytest.fixture
async def auth_events(infra: Infra, service: Service) -> AsyncIterator[AuthEvents]:
    broker = Broker(infra.amqp_url, "auth-service-stand-in")
    await broker.connect()
    yield AuthEvents(broker, service, "/auth-service")
    await broker.close()


@pytest.fixture
async def tap(infra: Infra, unique: str) -> AsyncIterator[EventTap]:
    async with EventTap(
        infra.amqp_url, ["integration.*"], subjects=lambda s: unique in s
    ) as events:
        yield events


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
