"""template-service's HTTP routes (contract §3): thin views translating HTTP to commands."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from platform_core.api import ApiRoutes, PageQuery, Reply
from platform_core.paging import page_of
from platform_core.service_auth import Scope
from template_service.domain.errors import (
    AuthServiceUnavailable,
    ConcurrentChange,
    DialogTaskNotFound,
    InstallationNotFound,
    InsufficientScope,
    IntegrationDisabled,
    IntegrationNotConfigured,
    RunInProgress,
    RunNotFound,
    TemplateNotFound,
)
from template_service.entrypoints.schemas import (
    AppPath,
    AppTemplatePage,
    DialogTaskOut,
    DialogTaskPage,
    DialogTaskPath,
    InstallationOut,
    InstallationPage,
    InstallationPath,
    InstallBody,
    RunIn,
    RunOut,
    RunPage,
    RunPath,
    RunsPath,
    TemplateOut,
    TemplatePage,
    TemplatePath,
    TemplatesQuery,
    ToolPage,
    ToolsQuery,
)
from template_service.service_layer.installations import Installations
from template_service.service_layer.ports import Units
from template_service.service_layer.queries import Queries
from template_service.service_layer.runs import Runs

routes = ApiRoutes(tags=["template-service"])


# Set by the composition root's start-up context, once MongoDB is up.
INSTALLATIONS_KEY = web.AppKey("installations", Installations)
RUNS_KEY = web.AppKey("runs", Runs)
QUERIES_KEY = web.AppKey("queries", Queries)
UOW_KEY = web.AppKey("uow", Units)


# --- templates -----------------------------------------------------------------------------


@routes.get(
    "/v1/templates",
    summary="Every template, optionally only one integration's",
    responses={200: TemplatePage},
)
async def list_templates(request: web.Request, *, query: TemplatesQuery) -> Reply:
    templates = request.app[QUERIES_KEY].templates(query.integration)
    return Reply(TemplatePage.of(page_of(templates, lambda t: t.template_id, query)))


@routes.get(
    "/v1/templates/{template_id}",
    summary="One template and the dialog task blueprint it installs",
    responses={200: TemplateOut},
    errors=[TemplateNotFound],
)
async def get_template(request: web.Request, *, path: TemplatePath) -> Reply:
    return Reply(TemplateOut.of(request.app[QUERIES_KEY].template(path.template_id)))


@routes.get(
    "/v1/apps/{app_id}/templates",
    summary="Every template with whether this app can install it and has installed it",
    responses={200: AppTemplatePage},
)
async def list_app_templates(
    request: web.Request, *, path: AppPath, query: TemplatesQuery
) -> Reply:
    views = await request.app[QUERIES_KEY].app_templates(path.app_id, query.integration)
    return Reply(AppTemplatePage.of(page_of(views, lambda v: v.template.template_id, query)))


# --- installations -------------------------------------------------------------------------


@routes.post(
    "/v1/apps/{app_id}/template-installations",
    summary=(
        "Install a template: creates its dialog task (201); the same template again answers "
        "200 with the existing installation"
    ),
    responses={201: InstallationOut, 200: InstallationOut},
    errors=[
        TemplateNotFound,
        IntegrationNotConfigured,
        InsufficientScope,
        ConcurrentChange,
        AuthServiceUnavailable,
    ],
)
async def install(request: web.Request, *, path: AppPath, body: InstallBody) -> Reply:
    installation, created = await request.app[INSTALLATIONS_KEY].install(
        path.app_id, body.template_id
    )
    return Reply(InstallationOut.of(installation), 201 if created else 200)


@routes.get(
    "/v1/apps/{app_id}/template-installations",
    summary="The app's installations",
    responses={200: InstallationPage},
)
async def list_installations(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    page = await request.app[QUERIES_KEY].installations(path.app_id, query)
    return Reply(InstallationPage.of(page))


@routes.delete(
    "/v1/apps/{app_id}/template-installations/{installation_id}",
    summary="Uninstall: deletes the installation and its dialog task",
    responses={204: None},
    errors=[InstallationNotFound],
)
async def uninstall(request: web.Request, *, path: InstallationPath) -> Reply:
    await request.app[INSTALLATIONS_KEY].uninstall(path.app_id, path.installation_id)
    return Reply(status=204)


# --- dialog tasks --------------------------------------------------------------------------


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks",
    summary="The app's dialog tasks",
    responses={200: DialogTaskPage},
)
async def list_dialog_tasks(request: web.Request, *, path: AppPath, query: PageQuery) -> Reply:
    page = await request.app[QUERIES_KEY].dialog_tasks(path.app_id, query)
    return Reply(DialogTaskPage.of(page))


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}",
    summary="One dialog task, with its nodes and their binding to the integration",
    responses={200: DialogTaskOut},
    errors=[DialogTaskNotFound],
)
async def get_dialog_task(request: web.Request, *, path: DialogTaskPath) -> Reply:
    task = await request.app[QUERIES_KEY].dialog_task(path.app_id, path.dialog_task_id)
    return Reply(DialogTaskOut.of(task))


# --- runs ----------------------------------------------------------------------------------


@routes.post(
    "/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs",
    summary=(
        "Run the dialog task with its entities filled: script and service nodes in transition "
        "order, then the messages (201); the same idempotency_key again answers 200 with the "
        "first run"
    ),
    responses={201: RunOut, 200: RunOut},
    scope=Scope.RUN_ACTIONS,
    errors=[
        DialogTaskNotFound,
        IntegrationDisabled,
        InsufficientScope,
        RunInProgress,
        AuthServiceUnavailable,
    ],
)
async def start_run(request: web.Request, *, path: RunsPath, body: RunIn) -> Reply:
    run, created = await request.app[RUNS_KEY].start(
        path.app_id, path.dialog_task_id, body.entities, body.subject, body.idempotency_key
    )
    return Reply(RunOut.of(run), 201 if created else 200)


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs",
    summary="The task's runs, oldest first",
    responses={200: RunPage},
    errors=[DialogTaskNotFound],
)
async def list_runs(request: web.Request, *, path: RunsPath, query: PageQuery) -> Reply:
    page = await request.app[RUNS_KEY].page(path.app_id, path.dialog_task_id, query)
    return Reply(RunPage.of(page))


@routes.get(
    "/v1/apps/{app_id}/dialog-tasks/{dialog_task_id}/runs/{run_id}",
    summary="One run",
    responses={200: RunOut},
    errors=[DialogTaskNotFound, RunNotFound],
)
async def get_run(request: web.Request, *, path: RunPath) -> Reply:
    return Reply(RunOut.of(await request.app[RUNS_KEY].get(**path.model_dump())))


# --- tools ---------------------------------------------------------------------------------


@routes.get(
    "/v1/apps/{app_id}/tools",
    summary="The app's installed, active dialog tasks as tools for LLM agents",
    responses={200: ToolPage},
)
async def list_tools(request: web.Request, *, path: AppPath, query: ToolsQuery) -> Reply:
    tools = await request.app[QUERIES_KEY].tools(path.app_id, query.format)
    page = page_of(tools, _tool_name, query)
    return Reply(ToolPage(items=page.items, next_cursor=page.next_cursor))


def _tool_name(item: dict[str, Any]) -> str:
    return str(item.get("name") or item["function"]["name"])
