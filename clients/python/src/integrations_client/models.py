"""The bodies of the external contract (version 2) as pydantic models: what the client sends
and what it reads back.

Requests are strict (`extra="forbid"`, frozen): a misspelt field fails here, before any call.
Responses are lenient (`extra="allow"`): the contract lets a service add fields, and a client
built today must keep working when one does; what was added stays readable in `model_extra` and
in `model_dump()`. Fields the contract names are required; fields a service adds beyond it
(`created_at` of an app, `configurable` of an integration...) are optional.

The value shapes the contract uses in several places (subjects, profile references, sites,
times) are `platform_core.contract_types`' own, so a subject read from a credential compares
equal to the one a caller built. Those types forbid unknown keys, so inside a response they are
read through `_known_keys`, which drops what they do not declare.

Secrets (a custom profile's `client_secret`, a vended `access_token`) are `SecretStr`: a repr,
a log line or a plain `model_dump()` shows `**********`; only a dump with the `REVEAL` context
(the transport, and the CLI when asked explicitly) gives the value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from platform_core.contract_types import (
    AppSubject,
    AuthorizationType,
    CustomProfileRef,
    ProfileRef,
    SiteResource,
    Subject,
    SystemProfileRef,
    UserSubject,
    UtcDateTime,
)

__all__ = [
    "REVEAL",
    "AccessToken",
    "AccessTokenRequest",
    "AnthropicTool",
    "App",
    "AppRegistration",
    "AppSubject",
    "AppTemplate",
    "AuthorizationRequest",
    "AuthorizationSettings",
    "AuthorizationStatus",
    "AuthorizationType",
    "Blueprint",
    "BlueprintNode",
    "CatalogEntry",
    "ConfigureRequest",
    "Connection",
    "ConnectionStatus",
    "Credential",
    "CustomProfileRef",
    "DialogTask",
    "DialogTaskNode",
    "Edition",
    "EnabledChange",
    "EntityValue",
    "ErrorDetail",
    "FieldError",
    "InstallRequest",
    "Installation",
    "Integration",
    "IntegrationState",
    "McpTool",
    "McpToolAnnotations",
    "NewProfile",
    "OpenAiFunction",
    "OpenAiTool",
    "Page",
    "PendingAuthorization",
    "PendingIntegration",
    "Problem",
    "Profile",
    "ProfileChanges",
    "ProfileRef",
    "RequestBody",
    "ResponseBody",
    "Run",
    "RunAuthorization",
    "RunOutput",
    "RunRequest",
    "RunStep",
    "ServiceBinding",
    "SiteResource",
    "StartedAuthorization",
    "Subject",
    "SystemProfile",
    "SystemProfileRef",
    "TaskSource",
    "Template",
    "TemplateInput",
    "Tool",
    "ToolFormat",
    "Transition",
    "UserLink",
    "UserLinkRequest",
    "UserSubject",
]

ItemT = TypeVar("ItemT")

# Dump with this context to get secrets' values: `model.model_dump(mode="json", context=REVEAL)`.
REVEAL: Mapping[str, bool] = {"reveal_secrets": True}


def _secret_value(value: SecretStr, info: SerializationInfo) -> str:
    context = info.context
    if isinstance(context, Mapping) and context.get("reveal_secrets") is True:
        return value.get_secret_value()
    return str(value)


Secret = Annotated[SecretStr, PlainSerializer(_secret_value, return_type=str)]


def _known_keys(*variants: type[BaseModel], tag: str | None = None) -> BeforeValidator:
    """Keep only the keys the matching variant declares (by its `tag` field's default)."""

    def chosen(value: Mapping[str, object]) -> type[BaseModel] | None:
        if tag is None:
            return variants[0]
        for variant in variants:
            if variant.model_fields[tag].default == value.get(tag):
                return variant
        return None  # an unknown kind: let validation name it

    def keep(value: object) -> object:
        if not isinstance(value, Mapping):
            return value
        variant = chosen(value)
        if variant is None:
            return value
        return {key: item for key, item in value.items() if key in variant.model_fields}

    return BeforeValidator(keep)


_Subject = Annotated[Subject, _known_keys(AppSubject, UserSubject, tag="type")]
_ProfileRef = Annotated[ProfileRef, _known_keys(SystemProfileRef, CustomProfileRef, tag="kind")]
_Site = Annotated[SiteResource, _known_keys(SiteResource)]

Edition = Literal["developer", "enterprise", "trial"]
IntegrationState = Literal["available", "configured", "disabled"]
ConnectionStatus = Literal[
    "not_connected", "pending", "connected", "per_user", "reauthorization_required"
]
ToolFormat = Literal["mcp", "openai", "anthropic"]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class RequestBody(BaseModel):
    """A body the client sends: unknown fields are refused, values validated on construction."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ResponseBody(BaseModel):
    """A body the client reads: fields it does not know are kept, not refused."""

    model_config = ConfigDict(
        extra="allow", frozen=True, validate_by_name=True, serialize_by_alias=True
    )


class Page(ResponseBody, Generic[ItemT]):
    """One page of a list (contract §0): `next_cursor` is null on the last one."""

    items: list[ItemT]
    next_cursor: str | None = None


class ErrorDetail(ResponseBody):
    """Why a consent or a step failed: a stable code and a text for people."""

    code: str
    description: str | None = None
    detail: str | None = None


class FieldError(ResponseBody):
    """One entry of a 422 `validation_error`'s `errors`."""

    field: str = ""
    location: str | None = None
    message: str | None = None
    type: str | None = None


class Problem(ResponseBody):
    """An RFC 9457 problem answer, as every service renders its errors."""

    type: str = "about:blank"
    title: str = ""
    status: int
    detail: str = ""
    code: str = ""
    errors: list[FieldError] = Field(default_factory=list)
    missing_scopes: list[str] = Field(default_factory=list)


# --- integration-service (contract §1) ------------------------------------------------------


class AppRegistration(RequestBody):
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    edition: Edition


class App(ResponseBody):
    app_id: str
    name: str
    edition: Edition
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None


class CatalogEntry(ResponseBody):
    integration: str
    display_name: str
    category: str
    authorization_types: list[AuthorizationType]
    default_scopes: list[str]
    editions: list[Edition]


class AuthorizationSettings(ResponseBody):
    type: AuthorizationType
    profile: _ProfileRef


class PendingAuthorization(AuthorizationSettings):
    """The consent a pre_authorize started: send the admin's browser to `authorization_url`."""

    authorization_id: str
    authorization_url: str
    expires_at: UtcDateTime


class Connection(ResponseBody):
    status: ConnectionStatus
    pending_authorization_id: str | None = None
    last_error: ErrorDetail | None = None


class Integration(ResponseBody):
    integration: str
    display_name: str
    state: IntegrationState
    authorization: AuthorizationSettings | None
    connection: Connection
    first_configured_at: UtcDateTime | None = None
    updated_at: UtcDateTime
    version: int
    configurable: bool | None = None
    configurable_reason: str | None = None


class PendingIntegration(Integration):
    """The 202 of a pre_authorize: the state stays what it was until the admin consents."""

    authorization: PendingAuthorization


class ConfigureRequest(RequestBody):
    type: AuthorizationType
    profile: ProfileRef | None = None
    return_url: NonEmpty | None = None


class EnabledChange(RequestBody):
    enabled: StrictBool


class UserLinkRequest(RequestBody):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    return_url: NonEmpty | None = None


class UserLink(ResponseBody):
    link: str
    expires_at: UtcDateTime


# --- auth-service (contract §2) -------------------------------------------------------------


class SystemProfile(ResponseBody):
    profile_id: str
    integration: str
    idp_name: str
    scopes: list[str]
    callback_url: str
    available: bool


class NewProfile(RequestBody):
    """A custom profile ("Create New"); `refresh_url` defaults to `token_url` on the server."""

    name: NonEmpty
    integration: NonEmpty
    type: Literal["oauth2"] = "oauth2"
    idp_name: NonEmpty
    client_id: NonEmpty
    client_secret: Secret
    authorization_url: NonEmpty
    token_url: NonEmpty
    refresh_url: NonEmpty | None = None
    scopes: list[NonEmpty] = Field(min_length=1)
    callback_url: NonEmpty | None = None


class ProfileChanges(RequestBody):
    """A PATCH: only the fields given change. Changing a URL or the client id needs the secret
    in the same request (422 `client_secret_required` otherwise)."""

    name: NonEmpty | None = None
    idp_name: NonEmpty | None = None
    client_id: NonEmpty | None = None
    client_secret: Secret | None = None
    authorization_url: NonEmpty | None = None
    token_url: NonEmpty | None = None
    refresh_url: NonEmpty | None = None
    scopes: list[NonEmpty] | None = Field(default=None, min_length=1)
    callback_url: NonEmpty | None = None


class Profile(ResponseBody):
    """A custom profile as the service shows it: every field but the secret."""

    profile_id: str
    name: str
    integration: str
    type: str = "oauth2"
    idp_name: str
    client_id: str
    client_secret_set: bool
    authorization_url: str
    token_url: str
    refresh_url: str | None = None
    scopes: list[str]
    callback_url: str
    app_id: str | None = None
    created_at: UtcDateTime | None = None
    updated_at: UtcDateTime | None = None


class AuthorizationRequest(RequestBody):
    """`POST /v1/authorizations`: internal, integration-service is its usual caller."""

    app_id: NonEmpty
    integration: NonEmpty
    profile: ProfileRef
    subject: Subject
    return_url: NonEmpty | None = None
    ttl_seconds: StrictInt | None = Field(default=None, ge=60)
    app_name: NonEmpty | None = None
    site_hint: NonEmpty | None = None


class StartedAuthorization(ResponseBody):
    authorization_id: str
    authorization_url: str
    expires_at: UtcDateTime
    status: str = "pending"


class AuthorizationStatus(ResponseBody):
    authorization_id: str
    status: Literal["pending", "site_selection_required", "completed", "failed", "expired"]
    credential_id: str | None = None
    error: ErrorDetail | None = None
    app_id: str | None = None
    expires_at: UtcDateTime | None = None


class Credential(ResponseBody):
    """A credential's metadata: its tokens never leave auth-service this way."""

    credential_id: str
    integration: str
    subject: _Subject
    status: Literal["active", "reauthorization_required", "revoked"]
    scopes: list[str]
    resource: _Site | None = None
    expires_at: UtcDateTime | None = None
    last_refreshed_at: UtcDateTime | None = None
    created_at: UtcDateTime


class AccessTokenRequest(RequestBody):
    subject: Subject = Field(default_factory=AppSubject)
    min_valid_seconds: StrictInt = Field(default=60, ge=0, le=3600)
    force_refresh: StrictBool = False


class AccessToken(ResponseBody):
    """A valid access token for the provider; `access_token` shows only when revealed."""

    access_token: Secret
    token_type: str = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_at: UtcDateTime | None = None
    scopes: list[str]
    credential_id: str
    resource: _Site | None = None


# --- template-service (contract §3) ---------------------------------------------------------


class TemplateInput(ResponseBody):
    name: str
    type: str
    prompt: str
    required: bool = True
    values: list[str] | None = None


class Transition(ResponseBody):
    """An edge of a dialog: by node name in a blueprint, by node id in a task."""

    from_: str = Field(alias="from")
    to: str


class BlueprintNode(ResponseBody):
    """A node of a template's blueprint; its kind's own fields stay in `model_extra`."""

    name: str
    type: str


class Blueprint(ResponseBody):
    name: str
    nodes: list[BlueprintNode]
    transitions: list[Transition]


class Template(ResponseBody):
    template_id: str
    integration: str
    name: str
    description: str
    version: str
    inputs: list[TemplateInput]
    required_scopes: list[str]
    blueprint: Blueprint | None = None


class AppTemplate(Template):
    """A template as one app sees it: whether it can be installed, and what it lacks."""

    installable: bool
    installed: bool
    installation_id: str | None = None
    dialog_task_id: str | None = None
    missing_scopes: list[str] = Field(default_factory=list)


class InstallRequest(RequestBody):
    template_id: NonEmpty


class Installation(ResponseBody):
    installation_id: str
    template_id: str
    template_version: str
    dialog_task_id: str
    installed_at: UtcDateTime


class TaskSource(ResponseBody):
    template_id: str
    template_version: str


class ServiceBinding(ResponseBody):
    """A service node's `auth`: the integration it calls through, never a credential."""

    integration: str
    authorization_type: AuthorizationType


class DialogTaskNode(ResponseBody):
    """A node of an installed task; a `service` node fills the call fields."""

    id: str
    name: str
    type: Literal["intent", "entity", "script", "service", "message"]
    method: str | None = None
    url: str | None = None
    headers: dict[str, str] | None = None
    body: Any = None
    auth: ServiceBinding | None = None


class DialogTask(ResponseBody):
    dialog_task_id: str
    app_id: str
    name: str
    source: TaskSource
    status: Literal["active", "integration_disabled"]
    nodes: list[DialogTaskNode]
    transitions: list[Transition]
    created_at: UtcDateTime


EntityValue = StrictStr | StrictInt | StrictFloat


class RunRequest(RequestBody):
    entities: dict[NonEmpty, EntityValue] = Field(default_factory=dict)
    subject: Subject | None = None
    idempotency_key: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = None


class RunStep(ResponseBody):
    node: str
    type: str
    status: Literal["succeeded", "failed", "skipped"]
    http_status: int | None = None
    attempts: int = 0
    duration_ms: int = 0
    error: ErrorDetail | None = None


class RunOutput(ResponseBody):
    status: int
    body: Any = None


class RunAuthorization(ResponseBody):
    """For `authorization_required`: the end user's link to consent."""

    link: str
    expires_at: UtcDateTime


class Run(ResponseBody):
    run_id: str
    dialog_task_id: str
    app_id: str
    status: Literal["running", "succeeded", "failed", "authorization_required"]
    messages: list[str]
    steps: list[RunStep]
    outputs: dict[str, RunOutput] = Field(default_factory=dict)
    authorization: RunAuthorization | None = None
    started_at: UtcDateTime
    finished_at: UtcDateTime | None = None


class McpToolAnnotations(ResponseBody):
    read_only_hint: bool | None = Field(default=None, alias="readOnlyHint")
    destructive_hint: bool | None = Field(default=None, alias="destructiveHint")
    idempotent_hint: bool | None = Field(default=None, alias="idempotentHint")
    open_world_hint: bool | None = Field(default=None, alias="openWorldHint")


class McpTool(ResponseBody):
    name: str
    title: str | None = None
    description: str
    input_schema: dict[str, Any] = Field(alias="inputSchema")
    annotations: McpToolAnnotations | None = None
    meta: dict[str, Any] | None = Field(default=None, alias="_meta")


class OpenAiFunction(ResponseBody):
    name: str
    description: str
    parameters: dict[str, Any]


class OpenAiTool(ResponseBody):
    type: Literal["function"] = "function"
    function: OpenAiFunction


class AnthropicTool(ResponseBody):
    name: str
    description: str
    input_schema: dict[str, Any]


Tool = McpTool | OpenAiTool | AnthropicTool
