"""integration-service's HTTP routes (contract §1): thin views translating HTTP to commands."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from integration_service.domain.catalog import CATALOG
from integration_service.domain.errors import (
    AppNotFound,
    AuthProfileNotFound,
    AuthServiceUnavailable,
    ConcurrentChange,
    EditionNotSupported,
    IntegrationNotConfigured,
    IntegrationNotFound,
    ReauthorizationRequired,
    SystemProfileUnavailable,
)
from integration_service.entrypoints.schemas import (
    AppOut,
    AppPath,
    CatalogEntryOut,
    CatalogPage,
    ConfigureBody,
    IntegrationAcceptedOut,
    IntegrationOut,
    IntegrationPage,
    IntegrationPath,
    PatchIntegrationBody,
    PutAppBody,
    UserLinkBody,
    UserLinkOut,
)
from integration_service.service_layer.apps import AppCommands
from integration_service.service_layer.lifecycle import Lifecycle
from platform_core.api import ApiRoutes, PageQuery, Reply, page_of

routes = ApiRoutes(tags=["integration-service"])


@dataclass
class Wiring:
    """The commands, built once MongoDB is up; views find them here."""

    apps: AppCommands | None = None
    lifecycle: Lifecycle | None = None

    def require(self) -> tuple[AppCommands, Lifecycle]:
        if self.apps is None or self.lifecycle is None:
            raise RuntimeError("integration-service is not started")
        return self.apps, self.lifecycle


WIRING_KEY = web.AppKey("integration_wiring", Wiring)


def _apps(request: web.Request) -> AppCommands:
    return request.app[WIRING_KEY].require()[0]


def _lifecycle(request: web.Request) -> Lifecycle:
    return request.app[WIRING_KEY].require()[1]


# --- apps ----------------------------------------------------------------------------------


@routes.put(
    "/v1/apps/{app_id}",
    summary="Register an app or change its name or edition (integrations are kept)",
    responses={200: AppOut, 201: AppOut},
)
async def put_app(request: web.Request, *, path: AppPath, body: PutAppBody) -> Reply:
    app, created = await _apps(request).put(path.app_id, body.name, body.edition)
    return Reply(AppOut.model_validate(app.model_dump()), 201 if created else 200)


@routes.get(
    "/v1/apps/{app_id}",
    summary="An app and its edition",
    responses={200: AppOut},
    errors=[AppNotFound],
)
async def get_app(request: web.Request, *, path: AppPath) -> Reply:
    app = await _apps(request).get(path.app_id)
    return Reply(AppOut.model_validate(app.model_dump()))


# --- catalog and state ---------------------------------------------------------------------


@routes.get("/v1/integrations", summary="The integration catalog", responses={200: CatalogPage})
async def list_catalog(request: web.Request, *, query: PageQuery) -> Reply:
    entries, cursor = page_of(list(CATALOG), lambda e: e.integration, query)
    return Reply(CatalogPage(items=[CatalogEntryOut.of(e) for e in entries], next_cursor=cursor))


@routes.get(
    "/v1/apps/{app_id}/integrations",
    summary="Every catalog integration's state for one app",
    responses={200: IntegrationPage},
    errors=[AppNotFound],
)
async def list_integrations(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    views = await _lifecycle(request).views(path.app_id)
    page, cursor = page_of(views, lambda v: v.entry.integration, query)
    return Reply(IntegrationPage(items=[IntegrationOut.of(v) for v in page], next_cursor=cursor))


@routes.get(
    "/v1/apps/{app_id}/integrations/{integration}",
    summary="One integration's state for one app",
    responses={200: IntegrationOut},
    errors=[AppNotFound, IntegrationNotFound],
)
async def get_integration(request: web.Request, *, path: IntegrationPath) -> Reply:
    view = await _lifecycle(request).view(path.app_id, path.integration)
    return Reply(IntegrationOut.of(view))


# --- lifecycle -----------------------------------------------------------------------------


@routes.put(
    "/v1/apps/{app_id}/integrations/{integration}/authorization",
    summary=(
        "Configure the integration: pre_authorize answers 202 with the consent link and becomes "
        "configured when consent completes; user_authorize is configured at once"
    ),
    responses={200: IntegrationOut, 202: IntegrationAcceptedOut},
    errors=[
        EditionNotSupported,
        AppNotFound,
        IntegrationNotFound,
        AuthProfileNotFound,
        ConcurrentChange,
        SystemProfileUnavailable,
        AuthServiceUnavailable,
    ],
)
async def configure(request: web.Request, *, path: IntegrationPath, body: ConfigureBody) -> Reply:
    lifecycle = _lifecycle(request)
    if body.type == "user_authorize":
        view = await lifecycle.configure_user_authorize(path.app_id, path.integration, body.profile)
        return Reply(IntegrationOut.of(view))
    view, _ = await lifecycle.configure_pre_authorize(
        path.app_id, path.integration, body.profile, body.return_url
    )
    return Reply(IntegrationAcceptedOut.of_pending(view), 202)


@routes.patch(
    "/v1/apps/{app_id}/integrations/{integration}",
    summary="Disable or re-enable a configured integration",
    responses={200: IntegrationOut},
    errors=[
        AppNotFound,
        IntegrationNotFound,
        IntegrationNotConfigured,
        ReauthorizationRequired,
        ConcurrentChange,
    ],
)
async def patch_integration(
    request: web.Request, *, path: IntegrationPath, body: PatchIntegrationBody
) -> Reply:
    view = await _lifecycle(request).set_enabled(path.app_id, path.integration, body.enabled)
    return Reply(IntegrationOut.of(view))


@routes.delete(
    "/v1/apps/{app_id}/integrations/{integration}",
    summary="Remove the configuration; auth-service destroys the credentials on the event",
    responses={204: None},
    errors=[AppNotFound, IntegrationNotFound, ConcurrentChange],
)
async def delete_integration(request: web.Request, *, path: IntegrationPath) -> Reply:
    await _lifecycle(request).remove(path.app_id, path.integration)
    return Reply(status=204)


@routes.post(
    "/v1/apps/{app_id}/integrations/{integration}/user-links",
    summary="A consent link for one end user of a user_authorize integration",
    responses={201: UserLinkOut},
    errors=[
        EditionNotSupported,
        AppNotFound,
        IntegrationNotFound,
        IntegrationNotConfigured,
        AuthProfileNotFound,
        SystemProfileUnavailable,
        AuthServiceUnavailable,
    ],
)
async def create_user_link(
    request: web.Request, *, path: IntegrationPath, body: UserLinkBody
) -> Reply:
    issued = await _lifecycle(request).issue_user_link(
        path.app_id, path.integration, body.user_id, body.return_url
    )
    return Reply(UserLinkOut(link=issued.authorization_url, expires_at=issued.expires_at), 201)
