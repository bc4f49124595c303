"""`IntegrationsClient`: every contract route of auth-service, integration-service and
template-service (contract v2 §1-§3) as one typed async method.

Each method sends a strict request model, reads the answer into a lenient response model, and
raises the `errors` class of a problem answer. The token of each request is asked of the token
function with the scope its route needs (`integrations:read` for GETs, `integrations:write` for
changes, `tokens:issue` for the access token, `actions:run` for starting a run) and the app it
touches; `IntegrationsClient.with_secret` mints them with `JwtMinter`.

    async with IntegrationsClient.with_secret(ServiceUrls.local(), secret) as client:
        await client.put_app("app-1", name="Support bot", edition="developer")
        started = await client.configure("app-1", "confluence", "pre_authorize")
        print(started.authorization.authorization_url)
        async for template in client.list_app_templates("app-1"):
            ...

The browser routes (`/connect/...`, `/oauth/...`) are not here: a person's browser follows
those, not a platform service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import aiohttp
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from integrations_client.errors import UnexpectedResponse
from integrations_client.models import (
    AccessToken,
    AccessTokenRequest,
    AnthropicTool,
    App,
    AppRegistration,
    AppSubject,
    AppTemplate,
    AuthorizationRequest,
    AuthorizationStatus,
    AuthorizationType,
    CatalogEntry,
    ConfigureRequest,
    Credential,
    DialogTask,
    Edition,
    EnabledChange,
    EntityValue,
    Installation,
    InstallRequest,
    Integration,
    McpTool,
    NewProfile,
    OpenAiTool,
    Page,
    PendingIntegration,
    Profile,
    ProfileChanges,
    ProfileRef,
    RequestBody,
    Run,
    RunRequest,
    StartedAuthorization,
    Subject,
    SystemProfile,
    Template,
    Tool,
    ToolFormat,
    UserLink,
    UserLinkRequest,
)
from integrations_client.paging import Pager, check_limit
from integrations_client.tokens import JwtMinter, Scope, ServiceName, TokenFunction
from integrations_client.transport import Answer, RetryPolicy, ServiceUrls, Transport, segment

__all__ = ["DEFAULT_TIMEOUT_SECONDS", "IntegrationsClient"]

ModelT = TypeVar("ModelT", bound=BaseModel)
DEFAULT_TIMEOUT_SECONDS = 30.0
AUTH: ServiceName = "auth-service"
INTEGRATION: ServiceName = "integration-service"
TEMPLATE: ServiceName = "template-service"
TOOL_MODELS: Mapping[str, type[BaseModel]] = {
    "mcp": McpTool,
    "openai": OpenAiTool,
    "anthropic": AnthropicTool,
}


def _contract_errors(exc: PydanticValidationError) -> str:
    # Locations and messages only: the values could be a token.
    where = "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
    return f"the body does not match the contract ({where})"


class IntegrationsClient:
    """A client of the platform's services; use it as an async context manager, or `close()`.

    `session`: an aiohttp session of the caller's (not closed by the client); otherwise the
    client opens its own on first use. `timeout`: seconds per attempt.
    """

    def __init__(
        self,
        urls: ServiceUrls,
        tokens: TokenFunction,
        *,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self.urls = urls
        self._transport = Transport(
            urls, tokens, session=session, retry=retry or RetryPolicy(), timeout=timeout
        )

    @classmethod
    def with_secret(
        cls,
        urls: ServiceUrls,
        jwt_secret: str,
        *,
        subject: str = "integrations-client",
        app_ids: Iterable[str] | None = None,
        per_app: bool = False,
        audience: bool = True,
        ttl_seconds: int = 300,
        session: aiohttp.ClientSession | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> IntegrationsClient:
        """A client minting its own JWTs with `PLATFORM_JWT_SECRET` (see `JwtMinter`)."""
        minter = JwtMinter(
            jwt_secret,
            subject=subject,
            app_ids=app_ids,
            per_app=per_app,
            audience=audience,
            ttl_seconds=ttl_seconds,
        )
        return cls(urls, minter, session=session, retry=retry, timeout=timeout)

    def __repr__(self) -> str:
        return f"IntegrationsClient(urls={self.urls!r})"

    async def __aenter__(self) -> IntegrationsClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self._transport.close()

    # --- plumbing ---------------------------------------------------------------------------

    async def _call(
        self,
        service: ServiceName,
        method: str,
        path: str,
        *,
        app_id: str | None = None,
        scope: Scope | None = None,
        query: Mapping[str, str | int | None] | None = None,
        body: RequestBody | None = None,
        idempotent: bool | None = None,
    ) -> Answer:
        return await self._transport.request(
            service,
            method,
            path,
            scope=scope,
            app_id=app_id,
            query=query,
            body=body,
            idempotent=idempotent,
        )

    def _parse(
        self, model: type[ModelT], answer: Answer, service: ServiceName, method: str, path: str
    ) -> ModelT:
        try:
            return model.model_validate(answer.body)
        except PydanticValidationError as exc:
            url = f"{self.urls.base(service)}{path}"
            raise UnexpectedResponse(
                service, method, url, answer.status, _contract_errors(exc)
            ) from None

    async def _get(
        self,
        model: type[ModelT],
        service: ServiceName,
        path: str,
        *,
        app_id: str | None = None,
        query: Mapping[str, str | int | None] | None = None,
    ) -> ModelT:
        answer = await self._call(service, "GET", path, app_id=app_id, query=query)
        return self._parse(model, answer, service, "GET", path)

    async def _send(
        self,
        model: type[ModelT],
        service: ServiceName,
        method: str,
        path: str,
        body: RequestBody,
        *,
        app_id: str | None = None,
        scope: Scope | None = None,
        idempotent: bool | None = None,
    ) -> ModelT:
        answer = await self._call(
            service, method, path, app_id=app_id, scope=scope, body=body, idempotent=idempotent
        )
        return self._parse(model, answer, service, method, path)

    async def _delete(self, service: ServiceName, path: str, *, app_id: str) -> None:
        await self._call(service, "DELETE", path, app_id=app_id)

    def _page_fetcher(
        self,
        item: type[Any],
        service: ServiceName,
        path: str,
        *,
        app_id: str | None = None,
        query: Mapping[str, str | int | None] | None = None,
    ) -> Callable[[int | None, str | None], Any]:
        async def fetch(limit: int | None, cursor: str | None) -> Page[Any]:
            params: dict[str, str | int | None] = {**(query or {}), "limit": limit}
            params["cursor"] = cursor
            page_of_items = Page[item]  # type: ignore[valid-type]  # parametrised at run time
            return await self._get(page_of_items, service, path, app_id=app_id, query=params)

        return fetch

    def _pager(
        self,
        item: type[ModelT],
        service: ServiceName,
        path: str,
        *,
        limit: int | None,
        app_id: str | None = None,
        query: Mapping[str, str | int | None] | None = None,
    ) -> Pager[ModelT]:
        fetch = self._page_fetcher(item, service, path, app_id=app_id, query=query)
        url = f"{self.urls.base(service)}{path}"
        return Pager(fetch, limit=limit, service=service, url=url)

    async def _page(
        self,
        item: type[ModelT],
        service: ServiceName,
        path: str,
        *,
        limit: int | None,
        cursor: str | None,
        app_id: str | None = None,
        query: Mapping[str, str | int | None] | None = None,
    ) -> Page[ModelT]:
        fetch = self._page_fetcher(item, service, path, app_id=app_id, query=query)
        page: Page[ModelT] = await fetch(check_limit(limit), cursor)
        return page

    # --- integration-service: apps, catalog, integrations (contract §1) ----------------------

    async def put_app(self, app_id: str, *, name: str, edition: Edition) -> App:
        """Register or update an app (201 new, 200 updated: the same body)."""
        path = f"/v1/apps/{segment(app_id)}"
        body = AppRegistration(name=name, edition=edition)
        return await self._send(App, INTEGRATION, "PUT", path, body, app_id=app_id)

    async def get_app(self, app_id: str) -> App:
        return await self._get(App, INTEGRATION, f"/v1/apps/{segment(app_id)}", app_id=app_id)

    def list_catalog(self, *, limit: int | None = None) -> Pager[CatalogEntry]:
        return self._pager(CatalogEntry, INTEGRATION, "/v1/integrations", limit=limit)

    async def list_catalog_page(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[CatalogEntry]:
        return await self._page(
            CatalogEntry, INTEGRATION, "/v1/integrations", limit=limit, cursor=cursor
        )

    def list_integrations(self, app_id: str, *, limit: int | None = None) -> Pager[Integration]:
        path = f"/v1/apps/{segment(app_id)}/integrations"
        return self._pager(Integration, INTEGRATION, path, limit=limit, app_id=app_id)

    async def list_integrations_page(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Integration]:
        path = f"/v1/apps/{segment(app_id)}/integrations"
        return await self._page(
            Integration, INTEGRATION, path, limit=limit, cursor=cursor, app_id=app_id
        )

    async def get_integration(self, app_id: str, integration: str) -> Integration:
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}"
        return await self._get(Integration, INTEGRATION, path, app_id=app_id)

    @overload
    async def configure(
        self,
        app_id: str,
        integration: str,
        type: Literal["pre_authorize"],
        *,
        profile: ProfileRef | None = None,
        return_url: str | None = None,
    ) -> PendingIntegration: ...

    @overload
    async def configure(
        self,
        app_id: str,
        integration: str,
        type: Literal["user_authorize"],
        *,
        profile: ProfileRef | None = None,
        return_url: str | None = None,
    ) -> Integration: ...

    @overload
    async def configure(
        self,
        app_id: str,
        integration: str,
        type: AuthorizationType,
        *,
        profile: ProfileRef | None = None,
        return_url: str | None = None,
    ) -> Integration: ...

    async def configure(
        self,
        app_id: str,
        integration: str,
        type: AuthorizationType,
        *,
        profile: ProfileRef | None = None,
        return_url: str | None = None,
    ) -> Integration:
        """The Authorization tab: `pre_authorize` answers 202 with the consent link to follow
        (`PendingIntegration`); `user_authorize` answers 200, configured at once. Without
        `profile` the platform's own OAuth app (the system profile) is used."""
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}/authorization"
        body = ConfigureRequest(type=type, profile=profile, return_url=return_url)
        answer = await self._call(INTEGRATION, "PUT", path, app_id=app_id, body=body)
        if type == "pre_authorize":
            if answer.status != 202:
                url = f"{self.urls.base(INTEGRATION)}{path}"
                raise UnexpectedResponse(
                    INTEGRATION, "PUT", url, answer.status, "pre_authorize answers 202"
                )
            return self._parse(PendingIntegration, answer, INTEGRATION, "PUT", path)
        return self._parse(Integration, answer, INTEGRATION, "PUT", path)

    async def set_enabled(self, app_id: str, integration: str, enabled: bool) -> Integration:
        """`disabled`, or back to `configured` (409 `reauthorization_required` when a
        pre_authorize integration's credential is no longer active)."""
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}"
        body = EnabledChange(enabled=enabled)
        return await self._send(Integration, INTEGRATION, "PATCH", path, body, app_id=app_id)

    async def enable(self, app_id: str, integration: str) -> Integration:
        return await self.set_enabled(app_id, integration, True)

    async def disable(self, app_id: str, integration: str) -> Integration:
        return await self.set_enabled(app_id, integration, False)

    async def remove_integration(self, app_id: str, integration: str) -> None:
        """Back to `available`; its settings and credentials are removed (through events)."""
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}"
        await self._delete(INTEGRATION, path, app_id=app_id)

    async def create_user_link(
        self, app_id: str, integration: str, user_id: str, *, return_url: str | None = None
    ) -> UserLink:
        """The link to send to one end user (409 `integration_not_configured` unless the
        integration is configured with `user_authorize`)."""
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}/user-links"
        body = UserLinkRequest(user_id=user_id, return_url=return_url)
        return await self._send(UserLink, INTEGRATION, "POST", path, body, app_id=app_id)

    # --- auth-service: profiles, authorizations, credentials, tokens (contract §2) -----------

    def list_system_profiles(self, *, limit: int | None = None) -> Pager[SystemProfile]:
        return self._pager(SystemProfile, AUTH, "/v1/auth-profiles/system", limit=limit)

    async def list_system_profiles_page(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[SystemProfile]:
        return await self._page(
            SystemProfile, AUTH, "/v1/auth-profiles/system", limit=limit, cursor=cursor
        )

    async def create_profile(self, app_id: str, profile: NewProfile) -> Profile:
        path = f"/v1/apps/{segment(app_id)}/auth-profiles"
        return await self._send(Profile, AUTH, "POST", path, profile, app_id=app_id)

    def list_profiles(self, app_id: str, *, limit: int | None = None) -> Pager[Profile]:
        path = f"/v1/apps/{segment(app_id)}/auth-profiles"
        return self._pager(Profile, AUTH, path, limit=limit, app_id=app_id)

    async def list_profiles_page(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Profile]:
        path = f"/v1/apps/{segment(app_id)}/auth-profiles"
        return await self._page(Profile, AUTH, path, limit=limit, cursor=cursor, app_id=app_id)

    async def get_profile(self, app_id: str, profile_id: str) -> Profile:
        path = f"/v1/apps/{segment(app_id)}/auth-profiles/{segment(profile_id)}"
        return await self._get(Profile, AUTH, path, app_id=app_id)

    async def update_profile(
        self, app_id: str, profile_id: str, changes: ProfileChanges
    ) -> Profile:
        path = f"/v1/apps/{segment(app_id)}/auth-profiles/{segment(profile_id)}"
        return await self._send(Profile, AUTH, "PATCH", path, changes, app_id=app_id)

    async def delete_profile(self, app_id: str, profile_id: str) -> None:
        """204, or 409 `auth_profile_in_use` while an integration uses it."""
        path = f"/v1/apps/{segment(app_id)}/auth-profiles/{segment(profile_id)}"
        await self._delete(AUTH, path, app_id=app_id)

    async def create_authorization(self, request: AuthorizationRequest) -> StartedAuthorization:
        """Internal (integration-service calls it): start a consent, get its link."""
        return await self._send(
            StartedAuthorization,
            AUTH,
            "POST",
            "/v1/authorizations",
            request,
            app_id=request.app_id,
        )

    async def get_authorization(self, authorization_id: str) -> AuthorizationStatus:
        path = f"/v1/authorizations/{segment(authorization_id)}"
        return await self._get(AuthorizationStatus, AUTH, path)

    def _credentials_query(
        self, integration: str | None, user_id: str | None
    ) -> dict[str, str | int | None]:
        return {"integration": integration, "user_id": user_id}

    def list_credentials(
        self,
        app_id: str,
        *,
        integration: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> Pager[Credential]:
        path = f"/v1/apps/{segment(app_id)}/credentials"
        query = self._credentials_query(integration, user_id)
        return self._pager(Credential, AUTH, path, limit=limit, app_id=app_id, query=query)

    async def list_credentials_page(
        self,
        app_id: str,
        *,
        integration: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Credential]:
        path = f"/v1/apps/{segment(app_id)}/credentials"
        query = self._credentials_query(integration, user_id)
        return await self._page(
            Credential, AUTH, path, limit=limit, cursor=cursor, app_id=app_id, query=query
        )

    async def delete_credential(self, app_id: str, credential_id: str) -> None:
        """204: its tokens are erased and `credential.revoked` published."""
        path = f"/v1/apps/{segment(app_id)}/credentials/{segment(credential_id)}"
        await self._delete(AUTH, path, app_id=app_id)

    async def issue_access_token(
        self,
        app_id: str,
        integration: str,
        *,
        subject: Subject | None = None,
        min_valid_seconds: int = 60,
        force_refresh: bool = False,
    ) -> AccessToken:
        """A token valid for `min_valid_seconds` at least (scope `tokens:issue`); the app's by
        default, an end user's with `subject=UserSubject(user_id=...)`. `force_refresh` after
        the provider answered 401/403/404 to it. Retried after a connection error: asking
        again only vends a token again."""
        path = f"/v1/apps/{segment(app_id)}/integrations/{segment(integration)}/access-token"
        body = AccessTokenRequest(
            subject=subject or AppSubject(),
            min_valid_seconds=min_valid_seconds,
            force_refresh=force_refresh,
        )
        return await self._send(
            AccessToken,
            AUTH,
            "POST",
            path,
            body,
            app_id=app_id,
            scope=Scope.ISSUE_TOKENS,
            idempotent=True,
        )

    # --- template-service: templates, installations, dialog tasks (contract §3) --------------

    def list_templates(
        self, *, integration: str | None = None, limit: int | None = None
    ) -> Pager[Template]:
        query = {"integration": integration}
        return self._pager(Template, TEMPLATE, "/v1/templates", limit=limit, query=query)

    async def list_templates_page(
        self,
        *,
        integration: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Template]:
        query = {"integration": integration}
        return await self._page(
            Template, TEMPLATE, "/v1/templates", limit=limit, cursor=cursor, query=query
        )

    async def get_template(self, template_id: str) -> Template:
        return await self._get(Template, TEMPLATE, f"/v1/templates/{segment(template_id)}")

    def list_app_templates(
        self, app_id: str, *, integration: str | None = None, limit: int | None = None
    ) -> Pager[AppTemplate]:
        """The catalog as one app sees it: `installable`, `installed`, `missing_scopes`."""
        path = f"/v1/apps/{segment(app_id)}/templates"
        query = {"integration": integration}
        return self._pager(AppTemplate, TEMPLATE, path, limit=limit, app_id=app_id, query=query)

    async def list_app_templates_page(
        self,
        app_id: str,
        *,
        integration: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AppTemplate]:
        path = f"/v1/apps/{segment(app_id)}/templates"
        query = {"integration": integration}
        return await self._page(
            AppTemplate, TEMPLATE, path, limit=limit, cursor=cursor, app_id=app_id, query=query
        )

    async def install(self, app_id: str, template_id: str) -> Installation:
        """201 new; the same template again answers 200 with the same installation (upgraded
        in place when the catalog holds a newer version). 409 `integration_not_configured`,
        409 `insufficient_scope` (`missing_scopes`), 404 `template_not_found`."""
        path = f"/v1/apps/{segment(app_id)}/template-installations"
        body = InstallRequest(template_id=template_id)
        # Installing twice gives the same installation: safe to repeat after a lost answer.
        return await self._send(
            Installation, TEMPLATE, "POST", path, body, app_id=app_id, idempotent=True
        )

    def list_installations(self, app_id: str, *, limit: int | None = None) -> Pager[Installation]:
        path = f"/v1/apps/{segment(app_id)}/template-installations"
        return self._pager(Installation, TEMPLATE, path, limit=limit, app_id=app_id)

    async def list_installations_page(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[Installation]:
        path = f"/v1/apps/{segment(app_id)}/template-installations"
        return await self._page(
            Installation, TEMPLATE, path, limit=limit, cursor=cursor, app_id=app_id
        )

    async def uninstall(self, app_id: str, installation_id: str) -> None:
        """204, and the installation's dialog task is deleted."""
        path = f"/v1/apps/{segment(app_id)}/template-installations/{segment(installation_id)}"
        await self._delete(TEMPLATE, path, app_id=app_id)

    def list_dialog_tasks(self, app_id: str, *, limit: int | None = None) -> Pager[DialogTask]:
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks"
        return self._pager(DialogTask, TEMPLATE, path, limit=limit, app_id=app_id)

    async def list_dialog_tasks_page(
        self, app_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> Page[DialogTask]:
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks"
        return await self._page(
            DialogTask, TEMPLATE, path, limit=limit, cursor=cursor, app_id=app_id
        )

    async def get_dialog_task(self, app_id: str, dialog_task_id: str) -> DialogTask:
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks/{segment(dialog_task_id)}"
        return await self._get(DialogTask, TEMPLATE, path, app_id=app_id)

    # --- template-service: runs and tools (contract §3, new in 2) ----------------------------

    async def start_run(
        self,
        app_id: str,
        dialog_task_id: str,
        *,
        entities: Mapping[str, EntityValue] | None = None,
        subject: Subject | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Run the task (scope `actions:run`): 201 with the run; the same `idempotency_key`
        again answers 200 with the same run, nothing called twice, which is also why only a
        run with a key is retried after a connection error."""
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks/{segment(dialog_task_id)}/runs"
        body = RunRequest(
            entities=dict(entities or {}), subject=subject, idempotency_key=idempotency_key
        )
        return await self._send(
            Run,
            TEMPLATE,
            "POST",
            path,
            body,
            app_id=app_id,
            scope=Scope.RUN_ACTIONS,
            idempotent=idempotency_key is not None,
        )

    def list_runs(
        self, app_id: str, dialog_task_id: str, *, limit: int | None = None
    ) -> Pager[Run]:
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks/{segment(dialog_task_id)}/runs"
        return self._pager(Run, TEMPLATE, path, limit=limit, app_id=app_id)

    async def list_runs_page(
        self,
        app_id: str,
        dialog_task_id: str,
        *,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Run]:
        path = f"/v1/apps/{segment(app_id)}/dialog-tasks/{segment(dialog_task_id)}/runs"
        return await self._page(Run, TEMPLATE, path, limit=limit, cursor=cursor, app_id=app_id)

    async def get_run(self, app_id: str, dialog_task_id: str, run_id: str) -> Run:
        path = (
            f"/v1/apps/{segment(app_id)}/dialog-tasks/{segment(dialog_task_id)}"
            f"/runs/{segment(run_id)}"
        )
        return await self._get(Run, TEMPLATE, path, app_id=app_id)

    @overload
    def list_tools(
        self, app_id: str, *, format: Literal["mcp"] = "mcp", limit: int | None = None
    ) -> Pager[McpTool]: ...

    @overload
    def list_tools(
        self, app_id: str, *, format: Literal["openai"], limit: int | None = None
    ) -> Pager[OpenAiTool]: ...

    @overload
    def list_tools(
        self, app_id: str, *, format: Literal["anthropic"], limit: int | None = None
    ) -> Pager[AnthropicTool]: ...

    @overload
    def list_tools(
        self, app_id: str, *, format: ToolFormat, limit: int | None = None
    ) -> Pager[Tool]: ...

    def list_tools(
        self, app_id: str, *, format: ToolFormat = "mcp", limit: int | None = None
    ) -> Pager[Any]:
        """One tool per installed, active dialog task, in the shape of `format`."""
        path = f"/v1/apps/{segment(app_id)}/tools"
        model = TOOL_MODELS[format]
        query = {"format": format}
        return self._pager(model, TEMPLATE, path, limit=limit, app_id=app_id, query=query)

    @overload
    async def list_tools_page(
        self,
        app_id: str,
        *,
        format: Literal["mcp"] = "mcp",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[McpTool]: ...

    @overload
    async def list_tools_page(
        self,
        app_id: str,
        *,
        format: Literal["openai"],
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[OpenAiTool]: ...

    @overload
    async def list_tools_page(
        self,
        app_id: str,
        *,
        format: Literal["anthropic"],
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[AnthropicTool]: ...

    @overload
    async def list_tools_page(
        self,
        app_id: str,
        *,
        format: ToolFormat,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Tool]: ...

    async def list_tools_page(
        self,
        app_id: str,
        *,
        format: ToolFormat = "mcp",
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Any]:
        path = f"/v1/apps/{segment(app_id)}/tools"
        model = TOOL_MODELS[format]
        query = {"format": format}
        return await self._page(
            model, TEMPLATE, path, limit=limit, cursor=cursor, app_id=app_id, query=query
        )
