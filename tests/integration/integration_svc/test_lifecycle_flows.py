"""The lifecycle over HTTP and events: consent outcomes from auth-service arrive as real CloudEvents
on RabbitMQ, and what integration-service publishes is read back from the exchange."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from devinfra.process import free_port
from integration_service.settings import IntegrationSettings
from platform_core.contract_types import AppSubject, SystemProfileRef, UserSubject
from platform_core.events import (
    AuthorizationCompleted,
    AuthorizationFailed,
    CredentialReauthorizationRequired,
    CredentialRevoked,
)
from platform_core.service_auth import Scope
from tests.integration.integration_svc.conftest import (
    AuthEvents,
    AuthStub,
    Service,
    running_service,
)
from tests.support.events import EventTap

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


def completed(
    app_id: str, authorization_id: str, credential_id: str = "cred-1", subject: Any = None
) -> AuthorizationCompleted:
    return AuthorizationCompleted(
        app_id=app_id,
        authorization_id=authorization_id,
        integration="confluence",
        subject=subject or AppSubject(),
        credential_id=credential_id,
        profile=SystemProfileRef(),
        scopes=["write:confluence-content", "offline_access"],
        resource={"cloud_id": "c-1", "site_url": "https://acme.atlassian.net"},
    )


def lost(app_id: str, credential_id: str, revoked: bool = False) -> Any:
    model = CredentialRevoked if revoked else CredentialReauthorizationRequired
    return model(
        app_id=app_id,
        credential_id=credential_id,
        integration="confluence",
        subject=AppSubject(),
        reason="invalid_grant",
    )


def of_app(tap: EventTap, app_id: str, event_type: str) -> list[dict[str, Any]]:
    return [e for e in tap.of_type(event_type) if e["subject"] == app_id]


async def connect(service: Service, auth_events: AuthEvents, app_id: str) -> str:
    """pre_authorize and complete the consent; returns the credential id."""
    status, body = await service.configure(app_id, "pre_authorize")
    assert status == 202, body
    await auth_events.publish(completed(app_id, body["authorization"]["authorization_id"]))
    return "cred-1"


async def test_pre_authorize_answers_202_with_the_consent_link_and_configures_on_completion(
    service: Service, auth_stub: AuthStub, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    status, body = await service.configure(
        app_id, "pre_authorize", return_url="https://console.example/done"
    )
    assert status == 202, body
    authorization = body["authorization"]
    assert authorization["type"] == "pre_authorize"
    assert authorization["profile"] == {"kind": "system"}
    assert authorization["authorization_url"].startswith(f"{auth_stub.url}/connect/")
    assert authorization["expires_at"].endswith("Z")
    assert body["state"] == "available"
    assert body["connection"]["status"] == "pending"
    assert body["connection"]["pending_authorization_id"] == authorization["authorization_id"]

    (request,) = auth_stub.requests
    assert request == {
        "app_id": app_id,
        "integration": "confluence",
        "profile": {"kind": "system"},
        "subject": {"type": "app"},
        "return_url": "https://console.example/done",
        "app_name": f"App {app_id}",
    }
    (caller,) = auth_stub.callers
    assert caller.subject == "integration-service"
    assert caller.scopes == {Scope.WRITE.value}
    assert caller.app_ids == frozenset({app_id})

    read = await service.integration(app_id)
    assert read["authorization"] is None
    assert read["connection"]["status"] == "pending"

    await auth_events.publish(completed(app_id, authorization["authorization_id"]))
    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["authorization"] == {"type": "pre_authorize", "profile": {"kind": "system"}}
    assert item["connection"] == {
        "status": "connected",
        "pending_authorization_id": None,
        "last_error": None,
    }
    assert item["first_configured_at"] is not None
    (event,) = await tap.wait_for_type("integration.configured")
    assert event["source"] == "/integration-service"
    assert event["subject"] == app_id
    assert event["data"] == {
        "app_id": app_id,
        "integration": "confluence",
        "authorization_type": "pre_authorize",
        "profile": {"kind": "system"},
        "first_configuration": True,
        "configured_at": item["first_configured_at"],
    }


async def test_a_failed_consent_keeps_the_state_and_fills_last_error(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    _, body = await service.configure(app_id, "pre_authorize")
    await auth_events.publish(
        AuthorizationFailed(
            app_id=app_id,
            authorization_id=body["authorization"]["authorization_id"],
            integration="confluence",
            subject=AppSubject(),
            error="access_denied",
            error_description="The user declined",
        )
    )
    item = await service.integration(app_id)
    assert item["state"] == "available"
    assert item["connection"] == {
        "status": "not_connected",
        "pending_authorization_id": None,
        "last_error": {"code": "access_denied", "description": "The user declined"},
    }
    assert of_app(tap, app_id, "integration.configured") == []


async def test_a_second_configuration_replaces_the_pending_one_and_the_stale_completion_is_ignored(
    service: Service, auth_events: AuthEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    _, first = await service.configure(app_id, "pre_authorize")
    _, second = await service.configure(app_id, "pre_authorize")
    first_id = first["authorization"]["authorization_id"]
    second_id = second["authorization"]["authorization_id"]
    assert second["connection"]["pending_authorization_id"] == second_id

    await auth_events.publish(completed(app_id, first_id))
    item = await service.integration(app_id)
    assert item["state"] == "available"
    assert item["connection"]["pending_authorization_id"] == second_id

    await auth_events.publish(completed(app_id, second_id))
    assert (await service.integration(app_id))["state"] == "configured"


async def test_reconfiguring_keeps_the_integration_configured_until_the_new_consent_completes(
    service: Service, auth_stub: AuthStub, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    await connect(service, auth_events, app_id)
    auth_stub.custom_profiles["prof-1"] = app_id
    status, body = await service.configure(
        app_id, "pre_authorize", {"kind": "custom", "profile_id": "prof-1"}
    )
    assert status == 202
    assert body["state"] == "configured"
    assert body["connection"]["status"] == "connected"
    assert (await service.integration(app_id))["authorization"]["profile"] == {"kind": "system"}

    await auth_events.publish(
        completed(app_id, body["authorization"]["authorization_id"], "cred-2")
    )
    item = await service.integration(app_id)
    assert item["authorization"]["profile"] == {"kind": "custom", "profile_id": "prof-1"}
    events = await tap.wait_for_type("integration.configured", 2)
    assert [e["data"]["first_configuration"] for e in events] == [True, False]


async def test_user_authorize_configures_at_once_and_issues_user_links(
    service: Service, auth_stub: AuthStub, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    status, body = await service.configure(app_id, "user_authorize")
    assert status == 200, body
    assert body["state"] == "configured"
    assert body["authorization"] == {"type": "user_authorize", "profile": {"kind": "system"}}
    assert body["connection"]["status"] == "per_user"
    assert auth_stub.requests == []
    (event,) = await tap.wait_for_type("integration.configured")
    assert event["data"]["authorization_type"] == "user_authorize"
    assert event["data"]["first_configuration"] is True

    status, link = await service.call(
        "POST",
        f"/v1/apps/{app_id}/integrations/confluence/user-links",
        {"user_id": "user-42", "return_url": "https://bot.example/thanks"},
    )
    assert status == 201, link
    assert link["link"].startswith(f"{auth_stub.url}/connect/")
    assert link["expires_at"].endswith("Z")
    (request,) = auth_stub.requests
    assert request["subject"] == {"type": "user", "user_id": "user-42"}
    assert request["profile"] == {"kind": "system"}
    assert request["return_url"] == "https://bot.example/thanks"
    assert request["app_name"] == f"App {app_id}"


async def test_a_user_link_needs_a_user_authorize_configuration(
    service: Service, auth_events: AuthEvents, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    path = f"/v1/apps/{app_id}/integrations/confluence/user-links"
    status, body = await service.call("POST", path, {"user_id": "u-1"})
    assert (status, body["code"]) == (409, "integration_not_configured")
    await connect(service, auth_events, app_id)
    calls = len(auth_stub.requests)
    status, body = await service.call("POST", path, {"user_id": "u-1"})
    assert (status, body["code"]) == (409, "integration_not_configured")
    assert len(auth_stub.requests) == calls


async def test_a_user_completing_consent_does_not_configure_the_app(
    service: Service, auth_events: AuthEvents, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    _, body = await service.configure(app_id, "pre_authorize")
    authorization_id = body["authorization"]["authorization_id"]
    await auth_events.publish(
        completed(app_id, authorization_id, subject=UserSubject(user_id="u-1"))
    )
    assert (await service.integration(app_id))["state"] == "available"


async def test_a_custom_profile_of_another_app_is_refused_and_nothing_is_written(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    auth_stub.custom_profiles["prof-x"] = "another-app"
    status, body = await service.configure(
        app_id, "pre_authorize", {"kind": "custom", "profile_id": "prof-x"}
    )
    assert (status, body["code"]) == (422, "auth_profile_not_found")
    assert (await service.integration(app_id))["version"] == 0


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ((503, "system_profile_unavailable"), (503, "system_profile_unavailable")),
        ((404, "integration_not_found"), (404, "integration_not_found")),
        ((500, "internal_error"), (503, "auth_service_unavailable")),
        ((401, "unauthenticated"), (503, "auth_service_unavailable")),
        ((409, "conflict"), (503, "auth_service_unavailable")),
        ((422, "return_url_not_allowed"), (422, "return_url_not_allowed")),
        ((429, "too_many_open_authorizations"), (429, "too_many_open_authorizations")),
        ((429, "too_many_requests"), (429, "too_many_requests")),
    ],
)
async def test_auth_service_problems_are_passed_on_or_reported_unavailable(
    service: Service,
    auth_stub: AuthStub,
    unique: str,
    answer: tuple[int, str],
    expected: tuple[int, str],
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    status, code = answer
    auth_stub.answer = (status, {"status": status, "code": code, "title": code, "detail": "x"})
    status, body = await service.configure(app_id, "pre_authorize")
    assert (status, body["code"]) == expected
    assert (await service.integration(app_id))["version"] == 0


async def test_auth_services_retry_after_is_passed_on_with_its_429(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    code = "too_many_open_authorizations"
    auth_stub.answer = (429, {"status": 429, "code": code, "title": code, "detail": "x"})
    auth_stub.answer_headers = {"Retry-After": "37"}
    response = await service.client.put(
        f"/v1/apps/{app_id}/integrations/confluence/authorization",
        json={"type": "pre_authorize", "profile": {"kind": "system"}},
        headers=service.headers,
    )
    assert response.status == 429
    assert response.headers["Retry-After"] == "37"
    assert (await response.json())["code"] == code


async def test_a_slow_auth_service_answers_503_within_the_timeout_and_writes_nothing(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    auth_stub.delay_seconds = 3.0
    status, body = await service.configure(app_id, "pre_authorize")
    assert (status, body["code"]) == (503, "auth_service_unavailable")
    assert "token" not in body["detail"].lower()
    auth_stub.delay_seconds = 0
    assert (await service.integration(app_id))["version"] == 0


async def test_disable_enable_and_delete_publish_their_events(
    service: Service, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    path = f"/v1/apps/{app_id}/integrations/confluence"
    status, body = await service.call("PATCH", path, {"enabled": False})
    assert (status, body["code"]) == (409, "integration_not_configured")

    await service.configure(app_id, "user_authorize")
    status, body = await service.call("PATCH", path, {"enabled": False})
    assert (status, body["state"]) == (200, "disabled")
    status, again = await service.call("PATCH", path, {"enabled": False})
    assert (status, again["version"]) == (200, body["version"])
    status, body = await service.call("PATCH", path, {"enabled": True})
    assert (status, body["state"]) == (200, "configured")

    status, _ = await service.call("DELETE", path)
    assert status == 204
    item = await service.integration(app_id)
    assert item["state"] == "available"
    assert item["authorization"] is None
    assert item["connection"]["status"] == "not_connected"
    status, _ = await service.call("DELETE", path)
    assert status == 204

    await tap.wait_for_type("integration.removed")
    assert [e["type"] for e in tap.events if e["subject"] == app_id] == [
        "integration.configured",
        "integration.disabled",
        "integration.enabled",
        "integration.removed",
    ]
    removed = of_app(tap, app_id, "integration.removed")[0]
    assert removed["data"] == {"app_id": app_id, "integration": "confluence"}


async def test_a_lost_app_credential_requires_reauthorization_until_a_new_consent(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    credential_id = await connect(service, auth_events, app_id)

    await auth_events.publish(lost(app_id, "some-other-credential"))
    assert (await service.integration(app_id))["connection"]["status"] == "connected"

    await auth_events.publish(lost(app_id, credential_id))
    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["connection"]["status"] == "reauthorization_required"
    (event,) = await tap.wait_for_type("integration.reauthorization_required")
    assert event["data"] == {
        "app_id": app_id,
        "integration": "confluence",
        "credential_id": credential_id,
    }
    await auth_events.publish(lost(app_id, credential_id, revoked=True))
    assert len(of_app(tap, app_id, "integration.reauthorization_required")) == 1

    path = f"/v1/apps/{app_id}/integrations/confluence"
    status, _ = await service.call("PATCH", path, {"enabled": False})
    assert status == 200
    status, body = await service.call("PATCH", path, {"enabled": True})
    assert (status, body["code"]) == (409, "reauthorization_required")

    _, body = await service.configure(app_id, "pre_authorize")
    await auth_events.publish(
        completed(app_id, body["authorization"]["authorization_id"], "cred-2")
    )
    item = await service.integration(app_id)
    assert item["state"] == "configured"
    assert item["connection"]["status"] == "connected"


async def test_a_revocation_caused_by_deleting_the_integration_changes_nothing(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    credential_id = await connect(service, auth_events, app_id)
    status, _ = await service.call("DELETE", f"/v1/apps/{app_id}/integrations/confluence")
    assert status == 204
    before = await service.integration(app_id)
    await auth_events.publish(lost(app_id, credential_id, revoked=True))
    assert await service.integration(app_id) == before
    assert of_app(tap, app_id, "integration.reauthorization_required") == []


async def test_events_about_unknown_apps_and_integrations_are_acknowledged_and_ignored(
    service: Service, auth_events: AuthEvents, unique: str
) -> None:
    await auth_events.publish(completed(f"ghost-{unique}", "authz-1"))
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    other = lost(app_id, "cred-1").model_copy(update={"integration": "servicenow"})
    await auth_events.publish(other)
    assert service.consumed("credential.reauthorization_required", "dead_lettered") == 0
    assert (await service.integration(app_id))["version"] == 0


async def test_first_configuration_is_true_only_the_first_time(
    service: Service, auth_events: AuthEvents, tap: EventTap, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    await connect(service, auth_events, app_id)
    first_configured_at = (await service.integration(app_id))["first_configured_at"]
    await service.call("DELETE", f"/v1/apps/{app_id}/integrations/confluence")
    status, _ = await service.configure(app_id, "user_authorize")
    assert status == 200
    events = await tap.wait_for_type("integration.configured", 2)
    assert [e["data"]["first_configuration"] for e in events] == [True, False]
    assert (await service.integration(app_id))["first_configured_at"] == first_configured_at


async def test_user_authorize_refuses_a_profile_auth_service_does_not_know_for_this_app(
    service: Service, auth_stub: AuthStub, unique: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    auth_stub.custom_profiles["prof-x"] = "another-app"
    status, body = await service.configure(
        app_id, "user_authorize", {"kind": "custom", "profile_id": "prof-x"}
    )
    assert (status, body["code"]) == (422, "auth_profile_not_found")
    auth_stub.system_available = False
    status, body = await service.configure(app_id, "user_authorize")
    assert (status, body["code"]) == (503, "system_profile_unavailable")
    auth_stub.answer = (500, {"status": 500, "code": "internal_error"})
    status, body = await service.configure(app_id, "user_authorize")
    assert (status, body["code"]) == (503, "auth_service_unavailable")
    assert auth_stub.profile_checks == ["prof-x", "system", "system"]
    assert (await service.integration(app_id))["version"] == 0

    auth_stub.answer, auth_stub.system_available = None, True
    auth_stub.custom_profiles["prof-x"] = app_id
    status, body = await service.configure(
        app_id, "user_authorize", {"kind": "custom", "profile_id": "prof-x"}
    )
    assert status == 200, body
    assert body["authorization"]["profile"] == {"kind": "custom", "profile_id": "prof-x"}


async def test_auth_service_not_running_answers_503_and_writes_nothing(
    integration_settings: IntegrationSettings, token: Callable[..., str], unique: str
) -> None:
    settings = integration_settings.model_copy(
        update={"auth_service_url": f"http://127.0.0.1:{free_port()}"}
    )
    async with running_service(settings, token()) as service:
        app_id = f"app-{unique}"
        await service.put_app(app_id)
        for kind in ("pre_authorize", "user_authorize"):
            status, body = await service.configure(app_id, kind)
            assert (status, body["code"]) == (503, "auth_service_unavailable")
        assert (await service.integration(app_id))["version"] == 0


@pytest.mark.parametrize(
    "return_url",
    ["https://console.example/a\\b", "https://console.example/a b", "https://é.example/"],
)
async def test_a_return_url_auth_service_would_refuse_is_refused_here_first(
    service: Service, auth_stub: AuthStub, unique: str, return_url: str
) -> None:
    app_id = f"app-{unique}"
    await service.put_app(app_id)
    status, body = await service.configure(app_id, "pre_authorize", return_url=return_url)
    assert (status, body["code"]) == (422, "validation_error"), body
    assert [error["field"] for error in body["errors"]] == ["return_url"]
    assert auth_stub.requests == []
