"""Apps, editions and the catalog over HTTP, against the real MongoDB-compatible server."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from platform_core.service_auth import Scope
from tests.integration.integration_svc.conftest import AuthStub, Service

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


async def test_an_app_is_created_then_updated_and_read_back(service: Service, unique: str) -> None:
    app_id = f"app-{unique}"
    status, created = await service.call(
        "PUT", f"/v1/apps/{app_id}", {"name": "Support bot", "edition": "developer"}
    )
    assert status == 201
    assert created["app_id"] == app_id
    assert created["edition"] == "developer"
    assert created["created_at"].endswith("Z")

    status, updated = await service.call(
        "PUT", f"/v1/apps/{app_id}", {"name": "Support bot", "edition": "enterprise"}
    )
    assert status == 200
    assert updated["edition"] == "enterprise"
    assert updated["created_at"] == created["created_at"]

    status, read = await service.call("GET", f"/v1/apps/{app_id}")
    assert status == 200
    assert read == updated


async def test_unknown_apps_and_integrations_are_not_found(service: Service, unique: str) -> None:
    app_id = f"app-{unique}"
    for path in (f"/v1/apps/{app_id}", f"/v1/apps/{app_id}/integrations"):
        status, body = await service.call("GET", path)
        assert (status, body["code"]) == (404, "app_not_found")
    status, body = await service.configure(app_id, "user_authorize")
    assert (status, body["code"]) == (404, "app_not_found")

    await service.put_app(app_id)
    for method, path, payload in (
        ("GET", f"/v1/apps/{app_id}/integrations/servicenow", None),
        ("PATCH", f"/v1/apps/{app_id}/integrations/servicenow", {"enabled": False}),
        ("DELETE", f"/v1/apps/{app_id}/integrations/servicenow", None),
        (
            "PUT",
            f"/v1/apps/{app_id}/integrations/servicenow/authorization",
            {"type": "user_authorize", "profile": {"kind": "system"}},
        ),
        ("POST", f"/v1/apps/{app_id}/integrations/servicenow/user-links", {"user_id": "u-1"}),
    ):
        status, body = await service.call(method, path, payload)
        assert (status, body["code"]) == (404, "integration_not_found"), (method, path)


async def test_the_catalog_lists_confluence_and_jira_as_data(service: Service) -> None:
    status, body = await service.call("GET", "/v1/integrations")
    assert status == 200
    assert [item["integration"] for item in body["items"]] == ["confluence", "jira"]
    assert body["items"][0] == {
        "integration": "confluence",
        "display_name": "Confluence",
        "category": "actions",
        "authorization_types": ["pre_authorize", "user_authorize"],
        "default_scopes": [
            "read:page:confluence",
            "write:page:confluence",
            "read:space:confluence",
            "write:comment:confluence",
            "search:confluence",
            "offline_access",
        ],
        "editions": ["developer", "enterprise"],
    }
    assert body["items"][1]["display_name"] == "Jira"
    assert body["next_cursor"] is None
    status, body = await service.call("GET", "/v1/integrations?limit=0")
    assert (status, body["code"]) == (422, "validation_error")


async def test_an_app_sees_every_catalog_integration_available_at_first(
    service: Service, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    status, body = await service.call("GET", f"/v1/apps/{app_id}/integrations")
    assert status == 200
    item, jira = body["items"]
    assert jira["integration"] == "jira" and jira["state"] == "available"
    assert item == {
        "integration": "confluence",
        "display_name": "Confluence",
        "state": "available",
        "authorization": None,
        "connection": {
            "status": "not_connected",
            "pending_authorization_id": None,
            "last_error": None,
        },
        "first_configured_at": None,
        "updated_at": item["updated_at"],
        "version": 0,
        "configurable": True,
        "configurable_reason": None,
    }
    assert body["next_cursor"] is None


async def test_a_trial_app_cannot_configure_and_the_catalog_says_so(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"trial-{unique}"
    await service.put_app(app_id, "trial")
    for kind in ("pre_authorize", "user_authorize"):
        status, body = await service.configure(app_id, kind)
        assert (status, body["code"]) == (403, "edition_not_supported")
    assert auth_stub.requests == []
    item = await service.integration(app_id)
    assert item["configurable"] is False
    assert item["configurable_reason"] == "edition_not_supported"
    assert item["version"] == 0


async def test_changing_an_app_to_trial_keeps_its_configuration_but_accepts_no_new_one(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id, "developer")
    status, _ = await service.configure(app_id, "user_authorize")
    assert status == 200
    await service.put_app(app_id, "trial")

    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["configurable"] is False
    status, body = await service.configure(app_id, "pre_authorize")
    assert (status, body["code"]) == (403, "edition_not_supported")
    status, body = await service.call(
        "POST", f"/v1/apps/{app_id}/integrations/confluence/user-links", {"user_id": "u-1"}
    )
    assert (status, body["code"]) == (403, "edition_not_supported")
    assert auth_stub.requests == []
    assert (await service.integration(app_id))["version"] == item["version"]


async def test_calls_need_a_token_with_the_right_scope_and_app(
    service: Service, token: Callable[..., str], unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    path = f"/v1/apps/{app_id}/integrations/confluence"
    status, body = await service.call("GET", path, headers={})
    assert (status, body["code"]) == (401, "unauthenticated")
    read_only = {"Authorization": f"Bearer {token(scopes=[Scope.READ])}"}
    status, _ = await service.call("GET", path, headers=read_only)
    assert status == 200
    status, body = await service.call("PATCH", path, {"enabled": False}, headers=read_only)
    assert (status, body["code"]) == (403, "forbidden")
    other_app = {"Authorization": f"Bearer {token(app_ids=['someone-else'])}"}
    status, body = await service.call("GET", path, headers=other_app)
    assert (status, body["code"]) == (403, "forbidden")


async def test_bad_bodies_are_validation_errors_naming_the_field(
    service: Service, unique: str
) -> None:
    app_id = f"app-{unique}"
    status, body = await service.call("PUT", f"/v1/apps/{app_id}", {"name": "x", "edition": "pro"})
    assert (status, body["code"]) == (422, "validation_error")
    assert body["errors"][0]["field"] == "edition"
    await service.put_app(app_id)
    status, body = await service.call(
        "PATCH", f"/v1/apps/{app_id}/integrations/confluence", {"enabled": "yes"}
    )
    assert (status, body["code"]) == (422, "validation_error")
    status, body = await service.configure(app_id, "pre_authorize", {"kind": "custom"})
    assert (status, body["code"]) == (422, "validation_error")
    status, body = await service.call("GET", "/v1/apps/bad%20id")
    assert (status, body["code"]) == (422, "validation_error")


async def test_the_openapi_document_describes_every_route_and_the_configurable_addition(
    service: Service,
) -> None:
    status, document = await service.call("GET", "/openapi.json", headers={})
    assert status == 200
    paths = document["paths"]
    assert set(paths) >= {
        "/v1/apps/{app_id}",
        "/v1/integrations",
        "/v1/apps/{app_id}/integrations",
        "/v1/apps/{app_id}/integrations/{integration}",
        "/v1/apps/{app_id}/integrations/{integration}/authorization",
        "/v1/apps/{app_id}/integrations/{integration}/user-links",
    }
    configure = paths["/v1/apps/{app_id}/integrations/{integration}/authorization"]["put"]
    assert set(configure["responses"]) >= {"200", "202", "403", "404", "409", "422", "503"}
    assert "auth_service_unavailable" in configure["responses"]["503"]["x-codes"]
    schema = document["components"]["schemas"]["IntegrationOut"]
    assert "configurable" in schema["properties"]
