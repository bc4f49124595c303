"""integration-service's HTTP routes (contract §1): thin views translating HTTP to commands."""

from __future__ import annotations

from aiohttp import web

from integration_service.domain.catalog import Catalog
from integration_service.domain.errors import (
    AppNotFound,
    AuthServiceRejected,
    AuthServiceUnavailable,
    EditionNotSupported,
    ReturnUrlNotAllowed,
    TooManyOpenAuthorizations,
    TooManyRequests,
)
from integration_service.entrypoints.schemas import (
    AppOut,
    AppPath,
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
from integration_service.service_layer.ports import Units
from platform_core.api import ApiRoutes, PageQuery, Reply
from platform_core.errors import (
    AuthProfileNotFound,
    ConcurrentChange,
    IntegrationNotConfigured,
    IntegrationNotFound,
    ReauthorizationRequired,
    SystemProfileUnavailable,
)
from platform_core.paging import page_of

routes = ApiRoutes(tags=["integration-service"])
# What auth-service may refuse when asked for a consent link, passed on to the caller as is.
AUTH_SERVICE_REFUSALS = (
    AuthServiceRejected,
    ReturnUrlNotAllowed,
    TooManyOpenAuthorizations,
    TooManyRequests,
)

# Set by the composition root's start-up context, once MongoDB is up.
APPS_KEY = web.AppKey("apps", AppCommands)
LIFECYCLE_KEY = web.AppKey("lifecycle", Lifecycle)
CATALOG_KEY = web.AppKey("catalog", Catalog)
UOW_KEY = web.AppKey("uow", Units)


# --- apps ----------------------------------------------------------------------------------


@routes.put(
    "/v1/apps/{app_id}",
    summary="Register an app or change its name or edition (integrations are kept)",
    responses={200: AppOut, 201: AppOut},
)
async def put_app(request: web.Request, *, path: AppPath, body: PutAppBody) -> Reply:
    app, created = await request.app[APPS_KEY].put(path.app_id, body.name, body.edition)
    return Reply(AppOut.of(app), 201 if created else 200)


@routes.get(
    "/v1/apps/{app_id}",
    summary="An app and its edition",
    responses={200: AppOut},
    errors=[AppNotFound],
)
async def get_app(request: web.Request, *, path: AppPath) -> Reply:
    app = await request.app[APPS_KEY].get(path.app_id)
    return Reply(AppOut.of(app))


# --- catalog and state ---------------------------------------------------------------------


@routes.get("/v1/integrations", summary="The integration catalog", responses={200: CatalogPage})
async def list_catalog(request: web.Request, *, query: PageQuery) -> Reply:
    catalog = request.app[CATALOG_KEY]
    page = page_of(list(catalog), lambda e: e.integration, query)
    return Reply(CatalogPage.of(page))


@routes.get(
    "/v1/apps/{app_id}/integrations",
    summary="Every catalog integration's state for one app",
    responses={200: IntegrationPage},
    errors=[AppNotFound],
)
async def list_integrations(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    views = await request.app[LIFECYCLE_KEY].views(path.app_id)
    return Reply(IntegrationPage.of(page_of(views, lambda v: v.entry.integration, query)))


@routes.get(
    "/v1/apps/{app_id}/integrations/{integration}",
    summary="One integration's state for one app",
    responses={200: IntegrationOut},
    errors=[AppNotFound, IntegrationNotFound],
)
async def get_integration(request: web.Request, *, path: IntegrationPath) -> Reply:
    view = await request.app[LIFECYCLE_KEY].view(path.app_id, path.integration)
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
        *AUTH_SERVICE_REFUSALS,
    ],
)
async def configure(request: web.Request, *, path: IntegrationPath, body: ConfigureBody) -> Reply:
    lifecycle = request.app[LIFECYCLE_KEY]
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
    view = await request.app[LIFECYCLE_KEY].set_enabled(path.app_id, path.integration, body.enabled)
    return Reply(IntegrationOut.of(view))


@routes.delete(
    "/v1/apps/{app_id}/integrations/{integration}",
    summary="Remove the configuration; auth-service destroys the credentials on the event",
    responses={204: None},
    errors=[AppNotFound, IntegrationNotFound, ConcurrentChange],
)
async def delete_integration(request: web.Request, *, path: IntegrationPath) -> Reply:
    await request.app[LIFECYCLE_KEY].remove(path.app_id, path.integration)
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
        *AUTH_SERVICE_REFUSALS,
    ],
)
async def create_user_link(
    request: web.Request, *, path: IntegrationPath, body: UserLinkBody
) -> Reply:
    issued = await request.app[LIFECYCLE_KEY].issue_user_link(
        path.app_id, path.integration, body.user_id, body.return_url
    )
    return Reply(UserLinkOut.of(issued), 201)
