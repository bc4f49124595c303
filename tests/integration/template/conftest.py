"""template-service served for real (MongoDB, RabbitMQ, its consumer).

integration-service's events are published as real CloudEvents on the `integrations` exchange,
and what template-service publishes is read back from it with a tap.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from devinfra.process import free_port
from integration_manifests import load_integrations
from platform_core.broker import Broker
from platform_core.contract_types import AuthorizationType, SystemProfileRef
from platform_core.events import (
    CloudEvent,
    IntegrationConfigured,
    IntegrationDisabled,
    IntegrationEnabled,
    IntegrationRemoved,
)
from template_service.app import create_app
from template_service.settings import TemplateSettings
from tests.support.apps import ServiceUnderTest, UpstreamEvents, serving
from tests.support.events import EventTap
from tests.support.infra import Infra

Client = TestClient[web.Request, web.Application]


class Service(ServiceUnderTest):
    async def install(self, app_id: str, template_id: str) -> tuple[int, Any]:
        return await self.call(
            "POST", f"/v1/apps/{app_id}/template-installations", {"template_id": template_id}
        )

    async def task(self, app_id: str, dialog_task_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}")
        assert status == 200, body
        return dict(body)

    async def app_template(self, app_id: str, template_id: str) -> dict[str, Any]:
        status, body = await self.call("GET", f"/v1/apps/{app_id}/templates")
        assert status == 200, body
        return next(dict(i) for i in body["items"] if i["template_id"] == template_id)


@contextlib.asynccontextmanager
async def running_service(settings: TemplateSettings, token: str) -> AsyncIterator[Service]:
    app = create_app(settings, load_integrations({}))
    async with serving(app) as client:
        yield Service(client, app, {"Authorization": f"Bearer {token}"}, settings.event_queue)


CONFLUENCE_SCOPES = (
    "read:page:confluence",
    "write:page:confluence",
    "read:space:confluence",
    "write:comment:confluence",
    "search:confluence",
    "offline_access",
)


@dataclass
class AuthStub:
    """The one auth-service answer these tests need: what the app's credential was granted."""

    port: int
    granted: list[str] = field(default_factory=lambda: list(CONFLUENCE_SCOPES))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def credentials(self, request: web.Request) -> web.Response:
        credential = {"subject": {"type": "app"}, "status": "active", "scopes": self.granted}
        return web.json_response({"items": [credential], "next_cursor": None})


@pytest.fixture
async def auth_stub() -> AsyncIterator[AuthStub]:
    stub = AuthStub(free_port())
    app = web.Application()
    app.router.add_get("/v1/apps/{app_id}/credentials", stub.credentials)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", stub.port).start()
    yield stub
    await runner.cleanup()


@pytest.fixture
def template_settings(
    service_settings: Callable[[str], dict[str, object]], auth_stub: AuthStub
) -> TemplateSettings:
    return TemplateSettings(
        **service_settings("template-service"),  # type: ignore[arg-type]
        auth_service_url=auth_stub.url,
    )


@pytest.fixture
async def service(
    template_settings: TemplateSettings, token: Callable[..., str]
) -> AsyncIterator[Service]:
    async with running_service(template_settings, token()) as running:
        yield running


class IntegrationEvents(UpstreamEvents):
    """Events as integration-service publishes them."""

    async def configured(
        self, app_id: str, authorization_type: AuthorizationType = "pre_authorize"
    ) -> CloudEvent:
        return await self.publish(
            IntegrationConfigured(
                app_id=app_id,
                integration="confluence",
                authorization_type=authorization_type,
                profile=SystemProfileRef(),
                first_configuration=True,
                configured_at=datetime.now(UTC),
            )
        )

    async def disabled(self, app_id: str) -> CloudEvent:
        return await self.publish(IntegrationDisabled(app_id=app_id, integration="confluence"))

    async def enabled(self, app_id: str) -> CloudEvent:
        return await self.publish(IntegrationEnabled(app_id=app_id, integration="confluence"))

    async def removed(self, app_id: str) -> CloudEvent:
        return await self.publish(IntegrationRemoved(app_id=app_id, integration="confluence"))


@pytest.fixture
async def integration_events(infra: Infra, service: Service) -> AsyncIterator[IntegrationEvents]:
    broker = Broker(infra.amqp_url, "integration-service-stand-in")
    await broker.connect()
    yield IntegrationEvents(broker, service, "/integration-service")
    await broker.close()


@pytest.fixture
async def tap(infra: Infra, unique: str) -> AsyncIterator[EventTap]:
    async with EventTap(
        infra.amqp_url, ["template.*", "dialog_task.*"], subjects=lambda s: unique in s
    ) as events:
        yield events


def of_app(tap: EventTap, app_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in tap.of_type(event_type) if e["subject"] == app_id]
