"""The typed client against a fake of the services: every route with the token its scope needs,
bodies read leniently and sent strictly, problem answers as typed exceptions, bounded retries
with backoff, paging, and secrets that never show."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
from pydantic import ValidationError as PydanticValidationError

from integrations_client import (
    REVEAL,
    AppSubject,
    CustomProfileRef,
    IntegrationsClient,
    JwtMinter,
    NewProfile,
    Page,
    ProfileChanges,
    RetryPolicy,
    ServiceUnreachable,
    ServiceUrls,
    TokenRequest,
    UnexpectedResponse,
    UserSubject,
    errors,
    models,
)
from integrations_client.tokens import Scope
from tests.unit.client.fakes import (
    ACCESS_TOKEN,
    ACCESS_TOKEN_VALUE,
    ANTHROPIC_TOOL,
    APP,
    APP_TEMPLATE,
    AUTHORIZATION,
    CATALOG_ENTRY,
    CREDENTIAL,
    DIALOG_TASK,
    INSTALLATION,
    INTEGRATION,
    MCP_TOOL,
    OPENAI_TOOL,
    PENDING,
    PROFILE,
    RUN,
    SECRET,
    SITE,
    STARTED,
    SYSTEM_PROFILE,
    TEMPLATE,
    USER_LINK,
    FakeServices,
    closed_port,
    page,
)

READ, WRITE = "integrations:read", "integrations:write"
APPS = "/integration/v1/apps/app-1"
AUTH_APPS = "/auth/v1/apps/app-1"
TEMPLATE_APPS = "/template/v1/apps/app-1"
NEW_PROFILE = NewProfile(
    name="Team app",
    integration="confluence",
    idp_name="Atlassian",
    client_id="client-1",
    client_secret="the-client-secret-value",
    authorization_url="https://auth.atlassian.com/authorize",
    token_url="https://auth.atlassian.com/oauth/token",
    scopes=["write:confluence-content", "offline_access"],
)


@dataclass(frozen=True)
class Route:
    name: str
    call: Callable[[IntegrationsClient], Awaitable[object]]
    method: str
    path: str
    status: int
    answer: Any
    scope: str
    returns: type | None
    sent: Any = None
    query: dict[str, str] | None = None
    app_id: str | None = "app-1"

    @property
    def service(self) -> str:
        return f"{self.path.split('/')[1]}-service"


ROUTES = [
    # integration-service
    Route(
        "put_app",
        lambda c: c.put_app("app-1", name="Support bot", edition="developer"),
        "PUT",
        APPS,
        201,
        APP,
        WRITE,
        models.App,
        sent={"name": "Support bot", "edition": "developer"},
    ),
    Route("get_app", lambda c: c.get_app("app-1"), "GET", APPS, 200, APP, READ, models.App),
    Route(
        "list_catalog_page",
        lambda c: c.list_catalog_page(limit=10),
        "GET",
        "/integration/v1/integrations",
        200,
        page(CATALOG_ENTRY),
        READ,
        Page,
        query={"limit": "10"},
        app_id=None,
    ),
    Route(
        "list_integrations_page",
        lambda c: c.list_integrations_page("app-1", cursor="c1"),
        "GET",
        f"{APPS}/integrations",
        200,
        page(INTEGRATION),
        READ,
        Page,
        query={"cursor": "c1"},
    ),
    Route(
        "get_integration",
        lambda c: c.get_integration("app-1", "confluence"),
        "GET",
        f"{APPS}/integrations/confluence",
        200,
        INTEGRATION,
        READ,
        models.Integration,
    ),
    Route(
        "configure",
        lambda c: c.configure("app-1", "confluence", "user_authorize"),
        "PUT",
        f"{APPS}/integrations/confluence/authorization",
        200,
        INTEGRATION,
        WRITE,
        models.Integration,
        sent={"type": "user_authorize"},
    ),
    Route(
        "configure",
        lambda c: c.configure(
            "app-1",
            "confluence",
            "pre_authorize",
            profile=CustomProfileRef(profile_id="prof-1"),
            return_url="https://admin.example/done",
        ),
        "PUT",
        f"{APPS}/integrations/confluence/authorization",
        202,
        PENDING,
        WRITE,
        models.PendingIntegration,
        sent={
            "type": "pre_authorize",
            "profile": {"kind": "custom", "profile_id": "prof-1"},
            "return_url": "https://admin.example/done",
        },
    ),
    Route(
        "set_enabled",
        lambda c: c.set_enabled("app-1", "confluence", False),
        "PATCH",
        f"{APPS}/integrations/confluence",
        200,
        INTEGRATION,
        WRITE,
        models.Integration,
        sent={"enabled": False},
    ),
    Route(
        "enable",
        lambda c: c.enable("app-1", "confluence"),
        "PATCH",
        f"{APPS}/integrations/confluence",
        200,
        INTEGRATION,
        WRITE,
        models.Integration,
        sent={"enabled": True},
    ),
    Route(
        "disable",
        lambda c: c.disable("app-1", "confluence"),
        "PATCH",
        f"{APPS}/integrations/confluence",
        200,
        INTEGRATION,
        WRITE,
        models.Integration,
        sent={"enabled": False},
    ),
    Route(
        "remove_integration",
        lambda c: c.remove_integration("app-1", "confluence"),
        "DELETE",
        f"{APPS}/integrations/confluence",
        204,
        None,
        WRITE,
        None,
    ),
    Route(
        "create_user_link",
        lambda c: c.create_user_link("app-1", "confluence", "u-1"),
        "POST",
        f"{APPS}/integrations/confluence/user-links",
        201,
        USER_LINK,
        WRITE,
        models.UserLink,
        sent={"user_id": "u-1"},
    ),
    # auth-service
    Route(
        "list_system_profiles_page",
        lambda c: c.list_system_profiles_page(),
        "GET",
        "/auth/v1/auth-profiles/system",
        200,
        page(SYSTEM_PROFILE),
        READ,
        Page,
        app_id=None,
    ),
    Route(
        "create_profile",
        lambda c: c.create_profile("app-1", NEW_PROFILE),
        "POST",
        f"{AUTH_APPS}/auth-profiles",
        201,
        PROFILE,
        WRITE,
        models.Profile,
        sent={
            "name": "Team app",
            "integration": "confluence",
            "type": "oauth2",
            "idp_name": "Atlassian",
            "client_id": "client-1",
            "client_secret": "the-client-secret-value",
            "authorization_url": "https://auth.atlassian.com/authorize",
            "token_url": "https://auth.atlassian.com/oauth/token",
            "scopes": ["write:confluence-content", "offline_access"],
        },
    ),
    Route(
        "list_profiles_page",
        lambda c: c.list_profiles_page("app-1"),
        "GET",
        f"{AUTH_APPS}/auth-profiles",
        200,
        page(PROFILE),
        READ,
        Page,
    ),
    Route(
        "get_profile",
        lambda c: c.get_profile("app-1", "prof-1"),
        "GET",
        f"{AUTH_APPS}/auth-profiles/prof-1",
        200,
        PROFILE,
        READ,
        models.Profile,
    ),
    Route(
        "update_profile",
        lambda c: c.update_profile("app-1", "prof-1", ProfileChanges(name="Renamed")),
        "PATCH",
        f"{AUTH_APPS}/auth-profiles/prof-1",
        200,
        PROFILE,
        WRITE,
        models.Profile,
        sent={"name": "Renamed"},
    ),
    Route(
        "delete_profile",
        lambda c: c.delete_profile("app-1", "prof-1"),
        "DELETE",
        f"{AUTH_APPS}/auth-profiles/prof-1",
        204,
        None,
        WRITE,
        None,
    ),
    Route(
        "create_authorization",
        lambda c: c.create_authorization(
            models.AuthorizationRequest(
                app_id="app-1",
                integration="confluence",
                profile=models.SystemProfileRef(),
                subject=UserSubject(user_id="u-1"),
                app_name="Support bot",
            )
        ),
        "POST",
        "/auth/v1/authorizations",
        201,
        STARTED,
        WRITE,
        models.StartedAuthorization,
        sent={
            "app_id": "app-1",
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": {"type": "user", "user_id": "u-1"},
            "app_name": "Support bot",
        },
    ),
    Route(
        "get_authorization",
        lambda c: c.get_authorization("authz-1"),
        "GET",
        "/auth/v1/authorizations/authz-1",
        200,
        AUTHORIZATION,
        READ,
        models.AuthorizationStatus,
        app_id=None,
    ),
    Route(
        "list_credentials_page",
        lambda c: c.list_credentials_page("app-1", integration="confluence", user_id="u-1"),
        "GET",
        f"{AUTH_APPS}/credentials",
        200,
        page(CREDENTIAL),
        READ,
        Page,
        query={"integration": "confluence", "user_id": "u-1"},
    ),
    Route(
        "delete_credential",
        lambda c: c.delete_credential("app-1", "cred-1"),
        "DELETE",
        f"{AUTH_APPS}/credentials/cred-1",
        204,
        None,
        WRITE,
        None,
    ),
    Route(
        "issue_access_token",
        lambda c: c.issue_access_token("app-1", "confluence"),
        "POST",
        f"{AUTH_APPS}/integrations/confluence/access-token",
        200,
        ACCESS_TOKEN,
        "tokens:issue",
        models.AccessToken,
        sent={"subject": {"type": "app"}, "min_valid_seconds": 60, "force_refresh": False},
    ),
    # template-service
    Route(
        "list_templates_page",
        lambda c: c.list_templates_page(integration="confluence"),
        "GET",
        "/template/v1/templates",
        200,
        page(TEMPLATE),
        READ,
        Page,
        query={"integration": "confluence"},
        app_id=None,
    ),
    Route(
        "get_template",
        lambda c: c.get_template("confluence.create_content"),
        "GET",
        "/template/v1/templates/confluence.create_content",
        200,
        TEMPLATE,
        READ,
        models.Template,
        app_id=None,
    ),
    Route(
        "list_app_templates_page",
        lambda c: c.list_app_templates_page("app-1"),
        "GET",
        f"{TEMPLATE_APPS}/templates",
        200,
        page(APP_TEMPLATE),
        READ,
        Page,
    ),
    Route(
        "install",
        lambda c: c.install("app-1", "confluence.create_content"),
        "POST",
        f"{TEMPLATE_APPS}/template-installations",
        201,
        INSTALLATION,
        WRITE,
        models.Installation,
        sent={"template_id": "confluence.create_content"},
    ),
    Route(
        "list_installations_page",
        lambda c: c.list_installations_page("app-1"),
        "GET",
        f"{TEMPLATE_APPS}/template-installations",
        200,
        page(INSTALLATION),
        READ,
        Page,
    ),
    Route(
        "uninstall",
        lambda c: c.uninstall("app-1", "inst-1"),
        "DELETE",
        f"{TEMPLATE_APPS}/template-installations/inst-1",
        204,
        None,
        WRITE,
        None,
    ),
    Route(
        "list_dialog_tasks_page",
        lambda c: c.list_dialog_tasks_page("app-1"),
        "GET",
        f"{TEMPLATE_APPS}/dialog-tasks",
        200,
        page(DIALOG_TASK),
        READ,
        Page,
    ),
    Route(
        "get_dialog_task",
        lambda c: c.get_dialog_task("app-1", "task-1"),
        "GET",
        f"{TEMPLATE_APPS}/dialog-tasks/task-1",
        200,
        DIALOG_TASK,
        READ,
        models.DialogTask,
    ),
    Route(
        "start_run",
        lambda c: c.start_run(
            "app-1",
            "task-1",
            entities={"spaceKey": "ENG", "version": 3},
            subject=UserSubject(user_id="u-1"),
            idempotency_key="key-1",
        ),
        "POST",
        f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs",
        201,
        RUN,
        "actions:run",
        models.Run,
        sent={
            "entities": {"spaceKey": "ENG", "version": 3},
            "subject": {"type": "user", "user_id": "u-1"},
            "idempotency_key": "key-1",
        },
    ),
    Route(
        "list_runs_page",
        lambda c: c.list_runs_page("app-1", "task-1"),
        "GET",
        f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs",
        200,
        page(RUN),
        READ,
        Page,
    ),
    Route(
        "get_run",
        lambda c: c.get_run("app-1", "task-1", "run-1"),
        "GET",
        f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs/run-1",
        200,
        RUN,
        READ,
        models.Run,
    ),
    Route(
        "list_tools_page",
        lambda c: c.list_tools_page("app-1", format="openai"),
        "GET",
        f"{TEMPLATE_APPS}/tools",
        200,
        page(OPENAI_TOOL),
        READ,
        Page,
        query={"format": "openai"},
    ),
]


def claims_of(request_headers: dict[str, str]) -> dict[str, Any]:
    scheme, _, token = request_headers["Authorization"].partition(" ")
    assert scheme == "Bearer"
    decoded: dict[str, Any] = jwt.decode(
        token, SECRET, algorithms=["HS256"], options={"verify_aud": False}
    )
    return decoded


# --- routes and tokens ----------------------------------------------------------------------


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.name}-{r.status}")
async def test_every_route_is_called_with_its_method_path_body_and_a_token_of_its_scope(
    services: FakeServices, client: IntegrationsClient, route: Route
) -> None:
    services.reply(route.method, route.path, route.status, route.answer)

    result = await route.call(client)

    [sent] = services.requests
    assert (sent.method, sent.path) == (route.method, route.path)
    assert sent.body == route.sent
    assert sent.query == (route.query or {})
    claims = claims_of(sent.headers)
    assert claims["scope"] == route.scope
    assert claims["aud"] == [route.service]
    assert "app_ids" not in claims
    assert claims["exp"] - claims["iat"] == 300
    if route.returns is None:
        assert result is None
    else:
        assert type(result) is route.returns or isinstance(result, route.returns)


def test_the_route_table_covers_every_method_of_the_client_and_each_list_has_a_pager() -> None:
    public = {
        name
        for name, member in inspect.getmembers(IntegrationsClient, inspect.isfunction)
        if not name.startswith("_") and name not in {"close", "with_secret"}
    }
    pagers = {name for name in public if name.startswith("list_") and not name.endswith("_page")}
    assert public - pagers == {route.name for route in ROUTES}
    assert {f"{name}_page" for name in pagers} <= public


async def test_pagers_fetch_their_routes_with_the_same_scope_as_their_page_method(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.reply("GET", f"{TEMPLATE_APPS}/tools", 200, page(MCP_TOOL))
    services.reply("GET", "/integration/v1/integrations", 200, page(CATALOG_ENTRY))

    tools = await client.list_tools("app-1").collect()
    catalog = await client.list_catalog().collect()

    assert [type(tool) for tool in tools] == [models.McpTool]
    assert tools[0].input_schema == MCP_TOOL["inputSchema"]
    assert tools[0].meta == MCP_TOOL["_meta"]
    assert [entry.integration for entry in catalog] == ["confluence"]
    assert services.requests[0].query == {"format": "mcp"}
    assert {claims_of(r.headers)["scope"] for r in services.requests} == {READ}


@pytest.mark.parametrize(
    ("tool_format", "answer", "model"),
    [
        ("mcp", MCP_TOOL, models.McpTool),
        ("openai", OPENAI_TOOL, models.OpenAiTool),
        ("anthropic", ANTHROPIC_TOOL, models.AnthropicTool),
    ],
)
async def test_tools_are_read_in_the_shape_of_the_format_asked_for(
    services: FakeServices,
    client: IntegrationsClient,
    tool_format: models.ToolFormat,
    answer: dict[str, Any],
    model: type,
) -> None:
    services.reply("GET", f"{TEMPLATE_APPS}/tools", 200, page(answer))

    listed = await client.list_tools_page("app-1", format=tool_format)

    assert [type(tool) for tool in listed.items] == [model]
    assert listed.items[0].model_dump(mode="json", by_alias=True, exclude_none=True) == answer


async def test_tokens_carry_the_app_restriction_and_per_app_narrows_each_to_its_call(
    services: FakeServices,
) -> None:
    services.reply("GET", APPS, 200, APP)
    services.reply("GET", "/template/v1/templates", 200, page(TEMPLATE))
    minter = JwtMinter(SECRET, subject="admin-ui", app_ids=["app-1", "app-2"], per_app=True)
    async with IntegrationsClient(services.urls(), minter) as client:
        await client.get_app("app-1")
        await client.list_templates_page()

    first, second = (claims_of(r.headers) for r in services.requests)
    assert first["sub"] == "admin-ui"
    assert first["app_ids"] == ["app-1"]
    assert second["app_ids"] == ["app-1", "app-2"]


async def test_audience_can_be_left_out_for_services_that_predate_it(
    services: FakeServices,
) -> None:
    services.reply("GET", APPS, 200, APP)
    async with IntegrationsClient.with_secret(services.urls(), SECRET, audience=False) as client:
        await client.get_app("app-1")

    assert "aud" not in claims_of(services.requests[0].headers)


async def test_a_callers_own_token_function_is_asked_per_request_sync_or_async(
    services: FakeServices,
) -> None:
    services.reply("POST", f"{AUTH_APPS}/integrations/confluence/access-token", 200, ACCESS_TOKEN)
    services.reply("GET", APPS, 200, APP)
    asked: list[TokenRequest] = []

    async def tokens(request: TokenRequest) -> str:
        asked.append(request)
        return f"token-for-{request.scope}"

    async with IntegrationsClient(services.urls(), tokens) as client:
        await client.issue_access_token("app-1", "confluence", subject=UserSubject(user_id="u"))
    async with IntegrationsClient(services.urls(), lambda request: "plain") as client:
        await client.get_app("app-1")

    assert asked == [TokenRequest("auth-service", Scope.ISSUE_TOKENS, "app-1")]
    assert [r.headers["Authorization"] for r in services.requests] == [
        "Bearer token-for-tokens:issue",
        "Bearer plain",
    ]


async def test_ids_are_sent_as_one_path_segment_each(
    services: FakeServices, client: IntegrationsClient
) -> None:
    with pytest.raises(errors.NotFound):
        await client.get_template("a/../b?c")
    with pytest.raises(ValueError, match="must not be empty"):
        await client.get_app("")

    [sent] = services.requests
    assert sent.raw_path == "/template/v1/templates/a%2F..%2Fb%3Fc"
    assert sent.query == {}


# --- bodies ---------------------------------------------------------------------------------


async def test_a_response_with_fields_the_client_does_not_know_is_read_and_keeps_them(
    services: FakeServices, client: IntegrationsClient
) -> None:
    newer = {
        **CREDENTIAL,
        "rotation_count": 4,
        "subject": {"type": "user", "user_id": "u-1", "display_name": "Ada"},
        "resource": {**SITE, "region": "eu"},
    }
    services.reply("GET", f"{AUTH_APPS}/credentials", 200, page(newer, next_cursor=None))

    [credential] = await client.list_credentials("app-1").collect()

    assert credential.subject == UserSubject(user_id="u-1")
    assert credential.resource == models.SiteResource(
        cloud_id="cloud-1", site_url="https://acme.atlassian.net"
    )
    assert credential.model_extra == {"rotation_count": 4}


async def test_a_request_with_an_unknown_or_invalid_field_is_refused_before_anything_is_sent(
    services: FakeServices, client: IntegrationsClient
) -> None:
    with pytest.raises(PydanticValidationError):
        ProfileChanges.model_validate({"name": "x", "client_secrett": "typo"})
    with pytest.raises(PydanticValidationError):
        await client.put_app("app-1", name="", edition="developer")
    with pytest.raises(PydanticValidationError):
        await client.start_run("app-1", "task-1", entities={"flag": True})

    assert services.requests == []


async def test_pre_authorize_answering_anything_but_202_is_unexpected(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.reply("PUT", f"{APPS}/integrations/confluence/authorization", 200, INTEGRATION)

    with pytest.raises(UnexpectedResponse, match="202"):
        await client.configure("app-1", "confluence", "pre_authorize")


async def test_a_body_that_breaks_the_contract_is_unexpected_and_its_values_are_not_echoed(
    services: FakeServices, client: IntegrationsClient
) -> None:
    broken = {key: value for key, value in ACCESS_TOKEN.items() if key != "credential_id"}
    path = f"{AUTH_APPS}/integrations/confluence/access-token"
    services.reply("POST", path, 200, broken)

    with pytest.raises(UnexpectedResponse) as raised:
        await client.issue_access_token("app-1", "confluence")

    assert "credential_id" in str(raised.value)
    assert ACCESS_TOKEN_VALUE not in str(raised.value)
    assert raised.value.__cause__ is None


async def test_a_success_that_is_not_json_is_unexpected(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.reply("GET", APPS, 200, "<html>portal</html>", content_type="text/html")

    with pytest.raises(UnexpectedResponse, match="not JSON"):
        await client.get_app("app-1")


# --- problems -------------------------------------------------------------------------------


def coded_classes() -> list[type[errors.ProblemError]]:
    found: list[type[errors.ProblemError]] = []
    pending = [errors.ProblemError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.CODE:
            found.append(cls)
    return sorted(found, key=lambda cls: cls.CODE)


@pytest.mark.parametrize("cls", coded_classes(), ids=lambda cls: cls.CODE)
async def test_each_problem_code_is_raised_as_its_own_class_with_status_code_and_detail(
    services: FakeServices, client: IntegrationsClient, cls: type[errors.ProblemError]
) -> None:
    services.problem("GET", APPS, cls.STATUS, cls.CODE, detail="why")

    with pytest.raises(errors.ProblemError) as raised:
        await client.get_app("app-1")

    assert type(raised.value) is cls
    assert (raised.value.code, raised.value.detail) == (cls.CODE, "why")
    assert raised.value.status == raised.value.problem.status
    assert raised.value.service == "integration-service"
    assert raised.value.url.endswith(APPS)


def test_every_contract_code_has_its_class() -> None:
    contract_codes = {
        "edition_not_supported",
        "app_not_found",
        "integration_not_found",
        "auth_profile_not_found",
        "system_profile_unavailable",
        "reauthorization_required",
        "integration_not_configured",
        "invalid_callback_url",
        "client_secret_required",
        "auth_profile_in_use",
        "credential_not_found",
        "provider_unavailable",
        "integration_disabled",
        "too_many_open_authorizations",
        "template_not_found",
        "insufficient_scope",
        "dialog_task_not_found",
        "validation_error",
        "not_found",
        "unauthenticated",
        "forbidden",
    }
    assert contract_codes <= {cls.CODE for cls in coded_classes()}


async def test_insufficient_scope_carries_the_missing_scopes(
    services: FakeServices, client: IntegrationsClient
) -> None:
    path = f"{TEMPLATE_APPS}/template-installations"
    services.problem("POST", path, 409, "insufficient_scope", missing_scopes=["write:page"])

    with pytest.raises(errors.InsufficientScope) as raised:
        await client.install("app-1", "confluence.create_content")

    assert raised.value.missing_scopes == ["write:page"]
    assert isinstance(raised.value, errors.Conflict)


async def test_a_validation_error_carries_each_bad_field(
    services: FakeServices, client: IntegrationsClient
) -> None:
    path = f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs"
    bad = [{"field": "entities.spaceKey", "location": "body", "message": "required"}]
    services.problem("POST", path, 422, "validation_error", errors=bad)

    with pytest.raises(errors.ValidationError) as raised:
        await client.start_run("app-1", "task-1")

    assert [(e.field, e.message) for e in raised.value.errors] == [
        ("entities.spaceKey", "required")
    ]


async def test_an_unknown_code_falls_back_to_the_class_of_its_status(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.problem("GET", APPS, 409, "brand_new_code")
    services.reply("GET", f"{APPS}/integrations", 418, {"code": "teapot", "detail": "short"})

    with pytest.raises(errors.Conflict) as conflict:
        await client.get_app("app-1")
    with pytest.raises(errors.ProblemError) as teapot:
        await client.list_integrations_page("app-1")

    assert type(conflict.value) is errors.Conflict
    assert conflict.value.code == "brand_new_code"
    assert type(teapot.value) is errors.ProblemError
    assert (teapot.value.status, teapot.value.code) == (418, "teapot")


async def test_an_error_without_a_problem_body_is_raised_by_its_status(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.reply("GET", APPS, 502, "<html>bad gateway</html>", content_type="text/html")

    with pytest.raises(errors.ProblemError) as raised:
        await client.get_app("app-1")

    assert raised.value.status == 502
    assert "HTTP 502" in raised.value.detail


# --- retries --------------------------------------------------------------------------------


async def test_a_503_is_retried_with_growing_waits_until_the_service_answers(
    services: FakeServices, client: IntegrationsClient, sleeps: list[float]
) -> None:
    services.problem("GET", APPS, 503, "service_unavailable")
    services.problem("GET", APPS, 503, "service_unavailable")
    services.reply("GET", APPS, 200, APP)

    app = await client.get_app("app-1")

    assert app.app_id == "app-1"
    assert len(services.requests) == 3
    assert len(sleeps) == 2
    assert 0.1 <= sleeps[0] <= 0.2
    assert 0.2 <= sleeps[1] <= 0.4


async def test_each_attempt_asks_for_a_fresh_token_so_a_retry_never_sends_an_expired_one(
    services: FakeServices, retry: RetryPolicy
) -> None:
    services.problem("GET", APPS, 503, "service_unavailable")
    services.reply("GET", APPS, 200, APP)
    minted = iter(["first", "second"])
    async with IntegrationsClient(services.urls(), lambda _: next(minted), retry=retry) as client:
        await client.get_app("app-1")

    assert [r.headers["Authorization"] for r in services.requests] == [
        "Bearer first",
        "Bearer second",
    ]


async def test_retries_are_bounded_and_the_last_503_is_raised_as_its_class(
    services: FakeServices, client: IntegrationsClient, sleeps: list[float]
) -> None:
    services.problem(
        "POST", f"{TEMPLATE_APPS}/dialog-tasks/task-1/runs", 503, "auth_service_unavailable"
    )

    with pytest.raises(errors.AuthServiceUnavailable):
        await client.start_run("app-1", "task-1", entities={"spaceKey": "ENG"})

    assert len(services.requests) == 4  # a 503 says nothing was done: a POST is retried too
    assert len(sleeps) == 3


async def test_retry_after_is_honoured_up_to_the_longest_wait(
    services: FakeServices, client: IntegrationsClient, sleeps: list[float]
) -> None:
    problem = {"status": 503, "code": "provider_unavailable", "detail": "later"}
    services.reply("GET", APPS, 503, problem, headers={"Retry-After": "2"})
    services.reply("GET", APPS, 503, problem, headers={"Retry-After": "120"})
    services.reply("GET", APPS, 200, APP)

    await client.get_app("app-1")

    assert sleeps[0] >= 2
    assert sleeps[1] == 5.0


def test_backoff_doubles_with_jitter_and_never_exceeds_the_longest_wait() -> None:
    low = RetryPolicy(base_delay=0.2, max_delay=5.0, random=lambda: 0.0)
    high = RetryPolicy(base_delay=0.2, max_delay=5.0, random=lambda: 1.0)

    assert [low.delay(n) for n in (1, 2, 3)] == pytest.approx([0.1, 0.2, 0.4])
    assert [high.delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.4, 0.8])
    assert high.delay(30) == 5.0
    assert low.delay(30) == 2.5
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "bad_request"), (409, "conflict"), (503, "system_profile_unavailable")],
)
async def test_refusals_and_configuration_problems_are_not_retried(
    services: FakeServices, client: IntegrationsClient, sleeps: list[float], status: int, code: str
) -> None:
    services.problem("GET", APPS, status, code)

    with pytest.raises(errors.ProblemError):
        await client.get_app("app-1")

    assert len(services.requests) == 1
    assert sleeps == []


async def test_connection_errors_are_retried_for_idempotent_requests_only(
    retry: RetryPolicy, sleeps: list[float]
) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    urls = ServiceUrls(base, base, base)
    async with IntegrationsClient.with_secret(urls, SECRET, retry=retry) as client:
        with pytest.raises(ServiceUnreachable) as get:
            await client.get_app("app-1")
        retried_get = list(sleeps)
        sleeps.clear()
        with pytest.raises(ServiceUnreachable) as post:
            await client.start_run("app-1", "task-1")
        assert sleeps == []
        with pytest.raises(ServiceUnreachable) as keyed:
            await client.start_run("app-1", "task-1", idempotency_key="k")
        with pytest.raises(ServiceUnreachable) as installed:
            await client.install("app-1", "confluence.create_content")
        with pytest.raises(ServiceUnreachable) as vended:
            await client.issue_access_token("app-1", "confluence")
        with pytest.raises(ServiceUnreachable) as linked:
            await client.create_user_link("app-1", "confluence", "u-1")

    assert (installed.value.attempts, vended.value.attempts, linked.value.attempts) == (4, 4, 1)
    assert get.value.attempts == 4
    assert len(retried_get) == 3
    assert post.value.attempts == 1
    assert keyed.value.attempts == 4
    assert get.value.service == "integration-service"


async def test_a_timeout_counts_as_a_connection_error_and_is_retried_for_a_get(
    services: FakeServices, retry: RetryPolicy
) -> None:
    services.reply("GET", APPS, 200, APP, delay=0.5)
    services.reply("GET", APPS, 200, APP)
    async with IntegrationsClient.with_secret(
        services.urls(), SECRET, retry=retry, timeout=0.1
    ) as client:
        app = await client.get_app("app-1")

    assert app.name == "Support bot"
    assert len(services.requests) == 2


# --- paging ---------------------------------------------------------------------------------


async def test_iterating_a_list_walks_every_page_with_the_cursor_it_was_given(
    services: FakeServices, client: IntegrationsClient
) -> None:
    path = f"{TEMPLATE_APPS}/dialog-tasks"
    task = DIALOG_TASK
    services.reply("GET", path, 200, page({**task, "dialog_task_id": "t1"}, next_cursor="c1"))
    services.reply("GET", path, 200, page({**task, "dialog_task_id": "t2"}, next_cursor="c2"))
    services.reply("GET", path, 200, page({**task, "dialog_task_id": "t3"}))

    seen = [t.dialog_task_id async for t in client.list_dialog_tasks("app-1", limit=1)]

    assert seen == ["t1", "t2", "t3"]
    assert [r.query for r in services.requests] == [
        {"limit": "1"},
        {"limit": "1", "cursor": "c1"},
        {"limit": "1", "cursor": "c2"},
    ]


async def test_pages_can_be_walked_as_pages_and_collect_stops_early(
    services: FakeServices, client: IntegrationsClient
) -> None:
    path = "/template/v1/templates"
    services.reply("GET", path, 200, page(TEMPLATE, TEMPLATE, next_cursor="c1"))
    services.reply("GET", path, 200, page(TEMPLATE))
    pager = client.list_templates()

    assert services.requests == []  # nothing is asked until iterated
    sizes = [len(p.items) async for p in pager.pages()]
    services.requests.clear()
    first = await client.list_templates().collect(max_items=1)

    assert sizes == [2, 1]
    assert len(first) == 1
    assert len(services.requests) == 1


async def test_a_list_that_repeats_a_cursor_is_stopped_instead_of_looping(
    services: FakeServices, client: IntegrationsClient
) -> None:
    path = f"{TEMPLATE_APPS}/template-installations"
    services.reply("GET", path, 200, page(INSTALLATION, next_cursor="same"))

    with pytest.raises(UnexpectedResponse, match="repeated a cursor"):
        await client.list_installations("app-1").collect()

    assert len(services.requests) == 2


def test_a_page_size_outside_the_contract_is_refused(client: IntegrationsClient) -> None:
    with pytest.raises(ValueError, match="between 1 and 200"):
        client.list_runs("app-1", "task-1", limit=201)


# --- secrets --------------------------------------------------------------------------------


async def test_no_secret_shows_in_reprs_dumps_or_errors(
    services: FakeServices, client: IntegrationsClient
) -> None:
    services.reply("POST", f"{AUTH_APPS}/integrations/confluence/access-token", 200, ACCESS_TOKEN)
    services.problem("GET", APPS, 403, "forbidden")
    token = await client.issue_access_token("app-1", "confluence", subject=AppSubject())
    with pytest.raises(errors.Forbidden) as refused:
        await client.get_app("app-1")
    minter = JwtMinter(SECRET)
    jwts = [r.headers["Authorization"].split()[1] for r in services.requests]

    shown = [
        repr(client),
        str(client),
        repr(minter),
        str(minter),
        repr(NEW_PROFILE),
        str(NEW_PROFILE.model_dump()),
        repr(token),
        str(token.model_dump()),
        token.model_dump_json(),
        repr(refused.value),
        str(refused.value),
    ]
    for text in shown:
        assert SECRET not in text
        assert ACCESS_TOKEN_VALUE not in text
        assert "the-client-secret-value" not in text
        assert not any(jwt_ in text for jwt_ in jwts)
    assert token.access_token.get_secret_value() == ACCESS_TOKEN_VALUE
    assert token.model_dump(mode="json", context=REVEAL)["access_token"] == ACCESS_TOKEN_VALUE
    assert not hasattr(minter, "__dict__")


def test_a_minter_refuses_a_short_secret_without_echoing_it_and_cannot_be_pickled() -> None:
    with pytest.raises(ValueError) as short:
        JwtMinter("too-short-secret")
    with pytest.raises(TypeError):
        pickle.dumps(JwtMinter(SECRET))

    assert "too-short-secret" not in str(short.value)
    assert "32 bytes" in str(short.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://admin:hunter2-password@127.0.0.1:1/gw", "must not carry credentials"),
        ("ftp://127.0.0.1/x", "http:// or https://"),
        ("127.0.0.1:8081", "http:// or https://"),
        ("http://127.0.0.1:8081/?debug=1", "no query"),
    ],
)
def test_a_base_url_that_cannot_work_is_refused_without_being_echoed(url: str, says: str) -> None:
    fine = "http://127.0.0.1:8081"

    with pytest.raises(ValueError, match=says) as raised:
        ServiceUrls(fine, url, fine)

    assert url not in str(raised.value)
    assert "integration" in str(raised.value)
