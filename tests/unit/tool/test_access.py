"""Who may call /mcp: the token rules and the Bearer challenges that refuse everyone else."""

from __future__ import annotations

import jwt
import pytest

from platform_core.service_auth import Scope, mint_token
from tests.unit.tool.fakes import SECRET
from tool_service.domain.access import McpCaller, admit
from tool_service.domain.errors import AccessRefused, InsufficientAccess, InvalidToken, NoToken

METADATA = "https://tools.example/.well-known/oauth-protected-resource"


def bearer(
    *,
    scopes: tuple[Scope, ...] = (Scope.RUN_ACTIONS,),
    app_ids: list[str] | None = None,
    audience: list[str] | None = None,
    user_id: str | None = None,
    ttl_seconds: int = 300,
    secret: str = SECRET,
) -> str:
    token = mint_token(
        secret,
        "agent-runtime",
        scopes,
        app_ids=["app-1"] if app_ids is None else app_ids,
        audience=["tool-service"] if audience is None else audience,
        user_id=user_id,
        ttl_seconds=ttl_seconds,
    )
    return f"Bearer {token}"


def refusal(authorization: str | None) -> AccessRefused:
    with pytest.raises(AccessRefused) as refused:
        admit(authorization, SECRET)
    return refused.value


def test_a_token_for_tool_service_with_the_scope_and_one_app_is_admitted() -> None:
    caller = admit(bearer(user_id="u-1"), SECRET)
    assert caller == McpCaller(
        subject="agent-runtime",
        app_id="app-1",
        user_id="u-1",
        scopes=frozenset({"actions:run"}),
    )
    assert admit(bearer(audience=["template-service", "tool-service"]), SECRET).user_id is None


def test_the_session_principal_is_the_app_and_the_user() -> None:
    one = admit(bearer(user_id="u-1"), SECRET)
    assert one.principal == admit(bearer(user_id="u-1", ttl_seconds=60), SECRET).principal
    assert one.principal != admit(bearer(user_id="u-2"), SECRET).principal
    assert one.principal != admit(bearer(), SECRET).principal
    assert one.principal != admit(bearer(app_ids=["app-2"], user_id="u-1"), SECRET).principal


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwdw=="])
def test_no_bearer_token_is_401_without_an_error_code(authorization: str | None) -> None:
    refused = refusal(authorization)
    assert isinstance(refused, NoToken) and refused.status == 401
    assert refused.challenge(resource_metadata=METADATA, scope="actions:run") == (
        f'Bearer scope="actions:run", resource_metadata="{METADATA}"'
    )


def test_a_token_without_aud_is_refused_although_other_services_accept_it() -> None:
    token = mint_token(SECRET, "agent", [Scope.RUN_ACTIONS], app_ids=["app-1"])
    assert "aud" not in jwt.decode(token, options={"verify_signature": False})
    refused = refusal(f"Bearer {token}")
    assert isinstance(refused, InvalidToken) and refused.status == 401
    assert "aud" in refused.detail


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        bearer(secret="t" * 40),
        bearer(ttl_seconds=-120),
        bearer(audience=["template-service"]),
    ],
    ids=["garbage", "another secret", "expired", "another audience"],
)
def test_an_invalid_token_is_401_invalid_token(authorization: str) -> None:
    refused = refusal(authorization)
    assert isinstance(refused, InvalidToken) and refused.status == 401
    challenge = refused.challenge(resource_metadata=METADATA, scope="actions:run")
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert challenge.endswith(f'scope="actions:run", resource_metadata="{METADATA}"')


@pytest.mark.parametrize(
    "authorization",
    [
        bearer(scopes=(Scope.READ, Scope.WRITE, Scope.ISSUE_TOKENS)),
        bearer(app_ids=[]),
        bearer(app_ids=["app-1", "app-2"]),
    ],
    ids=["without actions:run", "no app", "two apps"],
)
def test_a_token_that_may_not_run_one_apps_tools_is_403_insufficient_scope(
    authorization: str,
) -> None:
    refused = refusal(authorization)
    assert isinstance(refused, InsufficientAccess) and refused.status == 403
    assert refused.code == "forbidden"
    challenge = refused.challenge(resource_metadata=METADATA, scope="actions:run")
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="actions:run"' in challenge and f'resource_metadata="{METADATA}"' in challenge


def test_a_token_without_app_ids_is_403() -> None:
    token = mint_token(SECRET, "agent", [Scope.RUN_ACTIONS], audience=["tool-service"])
    assert isinstance(refusal(f"Bearer {token}"), InsufficientAccess)


def test_refusals_are_problem_details_that_never_echo_the_token() -> None:
    authorization = bearer(audience=["template-service"])
    refused = refusal(authorization)
    body = refused.body()
    assert body["code"] == "unauthenticated" and body["status"] == 401
    assert authorization.removeprefix("Bearer ") not in refused.to_json()
    assert authorization.removeprefix("Bearer ") not in refused.challenge(
        resource_metadata=METADATA, scope="actions:run"
    )
