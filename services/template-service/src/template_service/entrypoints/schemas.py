"""template-service's request and response bodies; the OpenAPI document is generated from them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from platform_core.api import AppId, PageQuery, RequestModel, ResponseModel
from platform_core.contract_types import Subject, UtcDateTime
from platform_core.paging import Page
from template_service.domain.dialog_task import DialogTask, TaskSource, TaskStatus
from template_service.domain.installation import Installation
from template_service.domain.nodes import TaskNode, Transition
from template_service.domain.run import AuthorizationLink, Output, Run, Step
from template_service.domain.template import Blueprint, Template, TemplateInput
from template_service.domain.tools import ToolFormat
from template_service.service_layer.queries import AppTemplate

OpaqueId = Annotated[str, StringConstraints(min_length=1, max_length=128)]

# --- requests ------------------------------------------------------------------------------


class TemplatesQuery(PageQuery):
    integration: str | None = Field(default=None, max_length=64)


class TemplatePath(RequestModel):
    template_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AppPath(RequestModel):
    app_id: AppId


class InstallationPath(RequestModel):
    app_id: AppId
    installation_id: OpaqueId


class DialogTaskPath(RequestModel):
    app_id: AppId
    dialog_task_id: OpaqueId


class InstallBody(RequestModel):
    # Any id that is not a template is a 404 template_not_found, whatever its shape.
    template_id: OpaqueId


# --- responses -----------------------------------------------------------------------------


class TemplateOut(ResponseModel):
    template_id: str
    integration: str
    name: str
    description: str
    version: str
    required_scopes: list[str] = Field(description="The scopes its service calls need")
    inputs: list[TemplateInput]
    blueprint: Blueprint = Field(
        description=(
            "The dialog task the template installs; its transitions join node names. Service "
            "nodes have no `auth` here: an installed task's are bound to the app's integration."
        )
    )

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls(**dict(template))


class TemplatePage(ResponseModel):
    items: list[TemplateOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Template]) -> TemplatePage:
        return cls(
            items=[TemplateOut.of(item) for item in page.items], next_cursor=page.next_cursor
        )


class AppTemplateOut(TemplateOut):
    installable: bool = Field(
        description="The app's integration is configured and enabled, and no scope is missing"
    )
    installed: bool
    installation_id: str | None
    dialog_task_id: str | None
    missing_scopes: list[str] = Field(
        description=(
            "The template's required_scopes the app's connection lacks: the app credential's "
            "granted scopes for pre_authorize, the profile's scopes for user_authorize"
        )
    )

    @classmethod
    def of_app(cls, view: AppTemplate) -> AppTemplateOut:
        installation = view.installation
        return cls(
            **dict(view.template),
            installable=view.installable,
            installed=installation is not None,
            installation_id=installation.installation_id if installation else None,
            dialog_task_id=installation.dialog_task_id if installation else None,
            missing_scopes=view.missing_scopes,
        )


class AppTemplatePage(ResponseModel):
    items: list[AppTemplateOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[AppTemplate]) -> AppTemplatePage:
        return cls(
            items=[AppTemplateOut.of_app(item) for item in page.items], next_cursor=page.next_cursor
        )


class InstallationOut(ResponseModel):
    installation_id: str
    template_id: str
    template_version: str
    dialog_task_id: str
    installed_at: UtcDateTime

    @classmethod
    def of(cls, installation: Installation) -> InstallationOut:
        return cls.model_validate(installation.model_dump(exclude={"app_id"}))


class InstallationPage(ResponseModel):
    items: list[InstallationOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Installation]) -> InstallationPage:
        return cls(
            items=[InstallationOut.of(item) for item in page.items], next_cursor=page.next_cursor
        )


class DialogTaskOut(ResponseModel):
    dialog_task_id: str
    app_id: str
    name: str
    source: TaskSource
    status: TaskStatus = Field(
        description="`integration_disabled` while the integration is disabled or removed"
    )
    nodes: list[TaskNode] = Field(
        description=(
            "Service node urls start with {{connection.api_base_url}} (the bound site's API "
            "root) or {{provider.api_base_url}}; placeholders in a url are substituted "
            "URL-encoded; a body value that is one placeholder alone keeps the type of its value"
        )
    )
    transitions: list[Transition] = Field(description="Edges between node ids")
    created_at: UtcDateTime

    @classmethod
    def of(cls, task: DialogTask) -> DialogTaskOut:
        return cls(**{name: value for name, value in task if name != "integration"})


class DialogTaskPage(ResponseModel):
    items: list[DialogTaskOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[DialogTask]) -> DialogTaskPage:
        return cls(
            items=[DialogTaskOut.of(item) for item in page.items], next_cursor=page.next_cursor
        )


# --- runs ----------------------------------------------------------------------------------

IdempotencyKey = Annotated[str, StringConstraints(min_length=1, max_length=200)]
EntityValue = Annotated[str, StringConstraints(max_length=32 * 1024)] | float


class RunsPath(RequestModel):
    app_id: AppId
    dialog_task_id: OpaqueId


class RunPath(RunsPath):
    run_id: OpaqueId


class RunIn(RequestModel):
    entities: dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], EntityValue] = (
        Field(default_factory=dict, max_length=100, description="The task's entities, by name")
    )
    subject: Subject | None = Field(
        default=None,
        description=(
            "Whom the run acts for: the app for pre_authorize (the default), an end user for "
            "user_authorize (required then)"
        ),
    )
    idempotency_key: IdempotencyKey | None = Field(
        default=None, description="The same key again answers the first run, calling nothing"
    )


class RunOut(ResponseModel):
    run_id: str
    dialog_task_id: str
    app_id: str
    status: Literal["running", "succeeded", "failed", "authorization_required"]
    messages: list[str]
    steps: list[Step]
    outputs: dict[str, Output] = Field(
        description="Each service node's answer; bodies are cut to a bounded size"
    )
    authorization: AuthorizationLink | None = Field(
        description="For authorization_required: the end user's link to consent"
    )
    started_at: UtcDateTime
    finished_at: UtcDateTime | None

    @classmethod
    def of(cls, run: Run) -> RunOut:
        return cls.model_validate(run.model_dump(exclude={"subject", "idempotency_key", "version"}))


class RunPage(ResponseModel):
    items: list[RunOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Run]) -> RunPage:
        return cls(items=[RunOut.of(run) for run in page.items], next_cursor=page.next_cursor)


# --- tools ---------------------------------------------------------------------------------


class ToolsQuery(PageQuery):
    format: ToolFormat = Field(default="mcp", description="Which vendor's tool shape")


class ToolPage(ResponseModel):
    items: list[dict[str, Any]] = Field(
        description=(
            "mcp: {name, title, description, inputSchema, annotations, _meta}; openai: "
            "{type: function, function: {name, description, parameters}}; anthropic: "
            "{name, description, input_schema}"
        )
    )
    next_cursor: str | None
