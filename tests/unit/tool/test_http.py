"""tool-service's HTTP surface in process (no broker, no template-service): the RFC 9728
metadata, the refusals of /mcp, the probes, problems for unknown routes, the OpenAPI document."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from platform_core.service_auth import Scope, mint_token
from tests.unit.tool.fakes import SECRET
from tool_service.app import create_app
from tool_service.settings import ToolSettings

BASE = "https://tools.example"


def settings() -> ToolSettings:
    return ToolSettings(
        platform_jwt_secret=SecretStr(SECRET),
        public_base_url=f"{BASE}/",
        mcp_authorization_servers="https://auth.example, https://login.example/tenant",
        template_service_url="http://127.0.0.1:9",
    )


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    service = create_app(settings())
    transport = httpx2.ASGITransport(app=service.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://tools.test") as client:
        yield client


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
async def test_the_protected_resource_metadata_names_the_resource_and_its_servers(
    http: httpx2.AsyncClient, path: str
) -> None:
    response = await http.get(path)
    assert response.status_code == 200
    assert response.json() == {
        "resource": f"{BASE}/mcp",
        "authorization_servers": ["https://auth.example", "https://login.example/tenant"],
        "bearer_methods_supported": ["header"],
        "scopes_supported": ["actions:run"],
        "resource_name": "Integrations platform tools (MCP)",
    }


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
async def test_every_mcp_method_without_a_token_is_401_pointing_at_the_metadata(
    http: httpx2.AsyncClient, method: str
) -> None:
    response = await http.request(method, "/mcp")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["www-authenticate"] == (
        f'Bearer scope="actions:run", '
        f'resource_metadata="{BASE}/.well-known/oauth-protected-resource"'
    )


async def test_a_token_for_another_app_set_is_403_insufficient_scope(
    http: httpx2.AsyncClient,
) -> None:
    token = mint_token(
        SECRET, "agent", [Scope.RUN_ACTIONS], app_ids=["a", "b"], audience=["tool-service"]
    )
    response = await http.post("/mcp", headers={"Authorization": f"Bearer {token}"}, json={})
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert f'resource_metadata="{BASE}/.well-known/oauth-protected-resource"' in challenge


async def test_probes_say_alive_and_not_ready_without_template_service_or_rabbitmq(
    http: httpx2.AsyncClient,
) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await http.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "status": "unavailable",
        "checks": {"template_service": False, "rabbitmq": False},
    }
    metrics = await http.get("/metrics")
    assert metrics.status_code == 200 and "http_requests_total" in metrics.text
    assert "mcp_tool_calls_total" in metrics.text


async def test_other_routes_and_methods_are_problems(http: httpx2.AsyncClient) -> None:
    missing = await http.get("/v1/anything")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    wrong = await http.put("/mcp")
    assert (wrong.status_code, wrong.json()["code"]) == (405, "method_not_allowed")


async def test_every_request_gets_a_request_id(http: httpx2.AsyncClient) -> None:
    assert (await http.get("/healthz", headers={"X-Request-Id": "abc-1"})).headers[
        "x-request-id"
    ] == "abc-1"
    assert len((await http.get("/healthz")).headers["x-request-id"]) == 32


async def test_the_openapi_document_describes_every_route_and_the_mcp_refusals(
    http: httpx2.AsyncClient,
) -> None:
    document: dict[str, Any] = (await http.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {
        "/mcp",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
    }
    mcp = document["paths"]["/mcp"]
    assert set(mcp) == {"post", "get", "delete"}
    for operation in mcp.values():
        assert {"401", "403"} <= set(operation["responses"])
        assert operation["security"] == [{"platformJwt": []}]
        assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]
    schemas = document["components"]["schemas"]
    assert {"Health", "ProtectedResourceMetadata", "Problem"} <= set(schemas)
    _refs_resolve(document, document)


def _refs_resolve(document: dict[str, Any], node: Any) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target: Any = document
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]
        for value in node.values():
            _refs_resolve(document, value)
    elif isinstance(node, list):
        for value in node:
            _refs_resolve(document, value)
