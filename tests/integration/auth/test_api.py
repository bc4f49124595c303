"""auth-service's JSON API: profiles (validation, secrecy), authorizations' errors, JWT rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from platform_core.service_auth import Scope
from tests.integration.auth.conftest import (
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    Api,
    Stack,
)
from tests.support.profiles import custom_profile_body

# Contract §1 (version 2): what Confluence's templates need, and offline_access.
CONFLUENCE_SCOPES = [
    "read:page:confluence",
    "write:page:confluence",
    "read:space:confluence",
    "write:comment:confluence",
    "search:confluence",
    "offline_access",
]

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


def profile_body(stack: Stack, **changes: Any) -> dict[str, Any]:
    return custom_profile_body(
        "https://auth.atlassian.com", CUSTOM_CLIENT_ID, CUSTOM_CLIENT_SECRET, **changes
    )


async def test_a_custom_profile_is_returned_without_its_secret(
    api: Api, stack: Stack, auth_db: Any, unique: str
) -> None:
    app_id = f"app-{unique}"
    status, created = await api.call(
        "POST", f"/v1/apps/{app_id}/auth-profiles", profile_body(stack)
    )
    assert status == 201, created
    assert "client_secret" not in created
    assert created["client_secret_set"] is True
    assert created["refresh_url"] == created["token_url"]
    assert created["callback_url"] == stack.callback_url
    stored = await auth_db.profiles.find_one({"_id": created["profile_id"]})
    assert set(stored["client_secret"]) == {"kid", "nonce", "ciphertext"}

    path = f"/v1/apps/{app_id}/auth-profiles/{created['profile_id']}"
    api.leaks.secret("new-client-s3cret")
    status, patched = await api.call(
        "PATCH",
        path,
        {"name": "Renamed", "client_secret": "new-client-s3cret", "token_url": "https://t.io/t"},
    )
    assert status == 200 and patched["name"] == "Renamed" and "client_secret" not in patched
    assert patched["refresh_url"] == "https://t.io/t"  # a defaulted refresh_url follows token_url
    status, listed = await api.call("GET", f"/v1/apps/{app_id}/auth-profiles")
    assert [p["profile_id"] for p in listed["items"]] == [created["profile_id"]]
    assert listed["next_cursor"] is None
    assert (
        await api.call("GET", f"/v1/apps/other-{unique}/auth-profiles/{created['profile_id']}")
    )[0] == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"token_url": "http://auth.example.com/oauth/token"}, "token_url"),
        ({"authorization_url": "http://127.0.0.1:9/authorize"}, "authorization_url"),
        ({"refresh_url": "https://x.example.com/" + "a" * 3000}, "refresh_url"),
        ({"client_id": "c" * 256}, "client_id"),
        ({"client_secret": "s" * 256}, "client_secret"),
        ({"scopes": []}, "scopes"),
        ({"type": "saml"}, "type"),
    ],
)
async def test_a_profile_that_breaks_the_rules_is_refused_naming_the_field(
    start_auth: Callable[..., Any], stack: Stack, unique: str, changes: dict[str, Any], field: str
) -> None:
    async with start_auth(
        allow_insecure_provider_urls=False,
        atlassian_auth_base_url="https://auth.atlassian.com",
        atlassian_api_base_url="https://api.atlassian.com",
    ) as api:
        status, problem = await api.call(
            "POST", f"/v1/apps/app-{unique}/auth-profiles", profile_body(stack, **changes)
        )
    assert status == 422, problem
    assert problem["code"] == "validation_error"
    assert field in [error["field"] for error in problem["errors"]]
    assert CUSTOM_CLIENT_SECRET not in str(problem)


async def test_a_callback_url_that_is_not_the_platforms_is_refused(
    api: Api, stack: Stack, unique: str
) -> None:
    body = profile_body(stack, callback_url="https://evil.example.com/oauth/callback")
    status, problem = await api.call("POST", f"/v1/apps/app-{unique}/auth-profiles", body)
    assert status == 422 and problem["code"] == "invalid_callback_url"
    body = profile_body(stack, callback_url=stack.callback_url)
    assert (await api.call("POST", f"/v1/apps/app-{unique}/auth-profiles", body))[0] == 201


async def test_the_system_profile_is_unavailable_without_client_credentials(
    start_auth: Callable[..., Any], unique: str
) -> None:
    async with start_auth(confluence_client_id=None, confluence_client_secret=None) as api:
        status, body = await api.call("GET", "/v1/auth-profiles/system")
        assert status == 200
        system = next(p for p in body["items"] if p["integration"] == "confluence")
        assert system["profile_id"] == "system:confluence"
        assert system["available"] is False
        status, problem = await api.call(
            "POST",
            "/v1/authorizations",
            {
                "app_id": f"app-{unique}",
                "integration": "confluence",
                "profile": {"kind": "system"},
                "subject": {"type": "app"},
            },
        )
    assert status == 503 and problem["code"] == "system_profile_unavailable"


async def test_the_system_profiles_list_their_scopes_and_callback(api: Api, stack: Stack) -> None:
    _, body = await api.call("GET", "/v1/auth-profiles/system")
    assert body["items"] == [
        {
            "profile_id": "system:confluence",
            "integration": "confluence",
            "idp_name": "Atlassian",
            "scopes": CONFLUENCE_SCOPES,
            "callback_url": stack.callback_url,
            "available": True,
        },
        {
            "profile_id": "system:jira",
            "integration": "jira",
            "idp_name": "Atlassian",
            "scopes": ["read:jira-work", "write:jira-work", "offline_access"],
            "callback_url": stack.callback_url,
            "available": False,
        },
    ]


async def test_authorizations_refuse_unknown_integrations_foreign_profiles_and_return_urls(
    api: Api, stack: Stack, unique: str
) -> None:
    app_id = f"app-{unique}"
    base = {"app_id": app_id, "subject": {"type": "app"}, "profile": {"kind": "system"}}
    status, problem = await api.call(
        "POST", "/v1/authorizations", {**base, "integration": "servicenow"}
    )
    assert status == 404 and problem["code"] == "integration_not_found"

    _, foreign = await api.call(
        "POST", f"/v1/apps/other-{unique}/auth-profiles", profile_body(stack)
    )
    status, problem = await api.call(
        "POST",
        "/v1/authorizations",
        {
            **base,
            "integration": "confluence",
            "profile": {"kind": "custom", "profile_id": foreign["profile_id"]},
        },
    )
    assert status == 422 and problem["code"] == "auth_profile_not_found"

    status, problem = await api.call(
        "POST",
        "/v1/authorizations",
        {**base, "integration": "confluence", "return_url": "https://evil.example.com/"},
    )
    assert status == 422 and problem["code"] == "return_url_not_allowed"


async def test_user_links_last_an_hour_and_admin_links_fifteen_minutes(
    api: Api, unique: str
) -> None:
    from datetime import datetime, timedelta

    now = datetime.now().astimezone()
    admin = await api.authorize(f"app-{unique}")
    user = await api.authorize(f"app-{unique}", subject={"type": "user", "user_id": "u"})

    def ttl(issued: dict[str, Any]) -> timedelta:
        return datetime.fromisoformat(issued["expires_at"].replace("Z", "+00:00")) - now

    assert timedelta(minutes=14) < ttl(admin) <= timedelta(minutes=15, seconds=5)
    assert timedelta(minutes=59) < ttl(user) <= timedelta(minutes=60, seconds=5)


async def test_the_access_token_call_needs_the_tokens_issue_scope_and_the_app(
    api: Api, token: Callable[..., str], unique: str
) -> None:
    path = f"/v1/apps/app-{unique}/integrations/confluence/access-token"
    body = {"subject": {"type": "app"}}
    status, problem = await api.call("POST", path, body, token=token([Scope.READ, Scope.WRITE]))
    assert status == 403 and problem["code"] == "forbidden"
    status, problem = await api.call(
        "POST", path, body, token=token([Scope.ISSUE_TOKENS], app_ids=["someone-else"])
    )
    assert status == 403
    status, problem = await api.call("POST", path, body, token="not-a-jwt")
    assert status == 401 and problem["code"] == "unauthenticated"
    status, problem = await api.call("POST", path, body, token=token([Scope.ISSUE_TOKENS]))
    assert status == 404 and problem["code"] == "credential_not_found"


async def test_the_openapi_document_describes_every_route(api: Api) -> None:
    async with api.session.get(f"{api.base_url}/openapi.json") as resp:
        document = await resp.json()
    for path in (
        "/v1/auth-profiles/system",
        "/v1/apps/{app_id}/auth-profiles",
        "/v1/apps/{app_id}/auth-profiles/{profile_id}",
        "/v1/authorizations",
        "/v1/authorizations/{authorization_id}",
        "/v1/apps/{app_id}/credentials",
        "/v1/apps/{app_id}/credentials/{credential_id}",
        "/v1/apps/{app_id}/integrations/{integration}/access-token",
        "/connect/{opaque}",
        "/oauth/callback",
        "/oauth/site",
    ):
        assert path in document["paths"], path
