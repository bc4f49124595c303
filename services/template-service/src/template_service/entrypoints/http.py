"""template-service's HTTP routes (contract §3): thin views translating HTTP to commands."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from platform_core.api import ApiRoutes, PageQuery, Reply, page_of
from template_service.domain.errors import (
    ConcurrentChange,
    DialogTaskNotFound,
    InstallationNotFound,
    IntegrationNotConfigured,
    TemplateNotFound,
)
from template_service.entrypoints.schemas import (
    AppPath,
    AppTemplateOut,
    AppTemplatePage,
    DialogTaskOut,
    DialogTaskPage,
    DialogTaskPath,
    InstallationOut,
    InstallationPage,
    InstallationPath,
    InstallBody,
    TemplateOut,
    TemplatePage,
    TemplatePath,
    TemplatesQuery,
)
from template_service.service_layer.installations import Installations
from template_service.service_layer.queries import Queries

routes = ApiRoutes(tags=["template-service"])


@dataclass
class Wiring:
    """The commands and queries, built once MongoDB is up; views find them here."""

    installations: Installations | None = None
    queries: Queries | None = None

    def require(self) -> tuple[Installations, Queries]:
        if self.installations is None or self.queries is None:
            raise RuntimeError("template-service is not started")
        return self.installations, self.queries


WIRING_KEY = web.AppKey("template_wiring", Wiring)


def _installations(request: web.Request) -> Installations:
    return request.app[WIRING_KEY].require()[0]


def _queries(request: web.Request) -> Queries:
    return request.app[WIRING_KEY].require()[1]


# --- templates -----------------------------------------------------------------------------


@routes.get(
    "/v1/templates",
    summary="Every template, optionally only one integration's",
    responses={200: TemplatePage},
)
async def list_templates(request: web.Request, *, query: TemplatesQuery) -> Reply:
    templates = _queries(request).templates(query.integration)
    page, cursor = page_of(templates, lambda t: t.template_id, query)
    return Reply(TemplatePage(items=[TemplateOut.of(t) for t in page], next_cursor=cursor))


@routes.get(
    "/v1/templates/{template_id}",
    summary="One template and the dialog task blueprint it installs",
    responses={200: TemplateOut},
    errors=[TemplateNotFound],
)
async def get_template(request: web.Request, *, path: TemplatePath) -> Reply:
    return Reply(TemplateOut.of(_queries(request).template(path.template_id)))


@routes.get(
    "/v1/apps/{app_id}/templates",
    summary="Every template with whether this app can install it and has installed it",
    responses={200: AppTemplatePage},
)
async def list_app_templates(
    request: web.Request, *, path: AppPath, query: TemplatesQuery
) -> Reply:
    views = await _queries(request).app_templates(path.app_id, query.integration)
    page, cursor = page_of(views, lambda v: v.template.template_id, query)
    return Reply(
        AppTemplatePage(items=[AppTemplateOut.of_app(v) for v in page], next_cursor=cursor)
    )


# --- installations -------------------------------------------------------------------------


@routes.post(
    "/v1/apps/{app_id}/template-installations",
    summary=(
        "Install a template: creates its dialog task (201); the same template again answers "
        "200 with the existing installation"
    ),
    responses={201: InstallationOut, 200: InstallationOut},
    errors=[TemplateNotFound, IntegrationNotConfigured, ConcurrentChange],
)
async def install(request: web.Request, *, path: AppPath, body: InstallBody) -> Reply:
    installation, created = await _installations(request).install(path.app_id, body.template_id)
    return Reply(InstallationOut.of(installation), 201 if created else 200)


@routes.get(
    "/v1/apps/{app_id}/template-installations",
    summary="The app's installations",
    responses={200: InstallationPage},
)
async def list_installations(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    page = await _queries(request).installations(path.app_id, query.limit, query.cursor)
    return Reply(
        InstallationPage(
            items=[InstallationOut.of(i) for i in page.items], next_cursor=page.next_cursor
        )
    )


@routes.delete(
    "/v1/apps/{app_id}/template-installations/{installation_id}",
    summary="Uninstall: deletes the installation and its dialog task",
    responses={204: None},
    errors=[InstallationNotFound],
)
async def uninstall(request: web.Request, *, path: InstallationPath) -> Reply:
    await _installations(request).uninstall(path.app_id, path.installation_id)
    return Reply(status=204)


# --- dialog tasks --------------------------------------------------------------------------


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks",
    summary="The app's dialog tasks",
    responses={200: DialogTaskPage},
)
async def list_dialog_tasks(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    page = await _queries(request).dialog_tasks(path.app_id, query.limit, query.cursor)
    return Reply(
        DialogTaskPage(
            items=[DialogTaskOut.of(t) for t in page.items], next_cursor=page.next_cursor
        )
    )


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}",
    summary="One dialog task, with its nodes and their binding to the integration",
    responses={200: DialogTaskOut},
    errors=[DialogTaskNotFound],
)
async def get_dialog_task(request: web.Request, *, path: DialogTaskPath) -> Reply:
    task = await _queries(request).dialog_task(path.app_id, path.dialog_task_id)
    return Reply(DialogTaskOut.of(task))
