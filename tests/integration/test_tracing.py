"""One configure flow is one trace across the three services and the broker.

The services run in this process (so the SDK's in-memory exporter sees every span) against the
real MongoDB-compatible server and RabbitMQ: the admin's PUT to integration-service, its call
to auth-service, the integration.configured event through the outbox, and auth-service's and
template-service's handling of it all share one trace id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from auth_service.app import create_app as create_auth_app
from auth_service.settings import AuthSettings
from devinfra.process import free_port
from integration_manifests import load_integrations
from integration_service.app import create_app as create_integration_app
from integration_service.settings import IntegrationSettings
from platform_core import tracing
from template_service.app import create_app as create_template_app
from template_service.settings import TemplateSettings
from tests.support.apps import serving
from tests.support.infra import TEST_ENCRYPTION_KEYS
from tests.support.waiting import eventually

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

INTEGRATIONS = load_integrations(
    {"CONFLUENCE_CLIENT_ID": "traced-app", "CONFLUENCE_CLIENT_SECRET": "traced-secret"}
)


@pytest.fixture
def spans() -> Any:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    yield exporter
    tracing.use_provider(None)


@pytest.fixture
async def three_services(
    spans: InMemorySpanExporter,
    service_settings: Callable[[str], dict[str, object]],
    token: Callable[..., str],
) -> AsyncIterator[Any]:
    auth_port = free_port()
    auth = AuthSettings(
        **service_settings("auth-service"),  # type: ignore[arg-type]
        port=auth_port,
        token_encryption_keys=TEST_ENCRYPTION_KEYS,
    )
    auth_url = f"http://127.0.0.1:{auth_port}"
    integration = IntegrationSettings(
        **service_settings("integration-service"),  # type: ignore[arg-type]
        auth_service_url=auth_url,
    )
    template = TemplateSettings(
        **service_settings("template-service"),  # type: ignore[arg-type]
        auth_service_url=auth_url,
    )
    async with (
        serving(create_auth_app(auth, INTEGRATIONS, maintenance_loop=False), auth_port),
        serving(create_integration_app(integration, INTEGRATIONS)) as integration_client,
        serving(create_template_app(template, INTEGRATIONS)) as template_client,
    ):
        yield integration_client, template_client, {"Authorization": f"Bearer {token()}"}


def kinds_by_service(spans: list[ReadableSpan]) -> set[tuple[str, str, SpanKind]]:
    return {
        (str((span.attributes or {}).get("service.name", "")), span.name, span.kind)
        for span in spans
    }


async def test_a_configure_flow_is_one_trace_across_the_services_and_the_broker(
    three_services: Any, spans: InMemorySpanExporter, unique: str
) -> None:
    integration, _, headers = three_services
    app_id = f"app-{unique}"
    async with integration.put(
        f"/v1/apps/{app_id}", json={"name": "Traced", "edition": "developer"}, headers=headers
    ) as response:
        assert response.status == 201
    spans.clear()
    async with integration.put(
        f"/v1/apps/{app_id}/integrations/confluence/authorization",
        json={"type": "user_authorize"},
        headers=headers,
    ) as response:
        assert response.status == 200, await response.text()

    def reacted() -> bool:
        return any(
            span.name == "process integration.configured"
            and (span.attributes or {}).get("service.name") == "template-service"
            for span in spans.get_finished_spans()
        )

    assert await eventually(reacted, timeout=15)
    (put,) = [
        s
        for s in spans.get_finished_spans()
        if s.kind == SpanKind.SERVER and s.name.startswith("PUT /v1/apps/{app_id}/integrations")
    ]
    assert put.context is not None and put.parent is None
    trace_id = put.context.trace_id
    in_trace = [
        s for s in spans.get_finished_spans() if s.context and s.context.trace_id == trace_id
    ]
    seen = kinds_by_service(in_trace)
    assert ("integration-service", "GET /v1/auth-profiles/system", SpanKind.CLIENT) in seen
    assert ("auth-service", "GET /v1/auth-profiles/system", SpanKind.SERVER) in seen
    assert any(
        kind == SpanKind.PRODUCER and name == "publish integration.configured"
        for _, name, kind in seen
    )
    assert ("template-service", "process integration.configured", SpanKind.CONSUMER) in seen
    assert ("auth-service", "process integration.configured", SpanKind.CONSUMER) in seen
    services = {service for service, _, _ in seen}
    assert {"integration-service", "auth-service", "template-service"} <= services
