"""The reads of contract §3: templates, one app's view of them, installations and dialog tasks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platform_core.api import PageQuery
from platform_core.paging import Page
from template_service.domain.dialog_task import DialogTask
from template_service.domain.errors import DialogTaskNotFound, TemplateNotFound
from template_service.domain.installation import Installation
from template_service.domain.template import Template, TemplateCatalog
from template_service.domain.tools import ToolFormat, tool
from template_service.service_layer.ports import Units
from template_service.service_layer.scopes import ConnectionScopes


@dataclass(frozen=True)
class AppTemplate:
    """A template as one app sees it: installable while its integration is configured."""

    template: Template
    installable: bool
    installation: Installation | None
    missing_scopes: list[str]


class Queries:
    def __init__(self, uow: Units, catalog: TemplateCatalog, scopes: ConnectionScopes) -> None:
        self._uow = uow
        self._catalog = catalog
        self._scopes = scopes

    def templates(self, integration: str | None = None) -> list[Template]:
        return self._catalog.all(integration)

    def template(self, template_id: str) -> Template:
        template = self._catalog.get(template_id)
        if template is None:
            raise TemplateNotFound(f"There is no template {template_id!r}")
        return template

    async def app_templates(self, app_id: str, integration: str | None = None) -> list[AppTemplate]:
        reads = self._uow.reads()
        states = await reads.integrations.for_app(app_id)
        installed = {i.template_id: i for i in await reads.installations.for_app(app_id)}
        views = []
        for template in self._catalog.all(integration):
            state = states.get(template.integration)
            usable = state is not None and state.installable
            missing = (
                await self._scopes.missing(template, state, strict=False)
                if usable and state is not None
                else []
            )
            views.append(
                AppTemplate(
                    template=template,
                    installable=usable and not missing,
                    installation=installed.get(template.template_id),
                    missing_scopes=missing,
                )
            )
        return views

    async def installations(self, app_id: str, query: PageQuery) -> Page[Installation]:
        return await self._uow.reads().installations.page(app_id, query)

    async def dialog_tasks(self, app_id: str, query: PageQuery) -> Page[DialogTask]:
        return await self._uow.reads().tasks.page(app_id, query)

    async def tools(self, app_id: str, shape: ToolFormat) -> list[dict[str, Any]]:
        """One tool per installed, active dialog task, in name order."""
        reads = self._uow.reads()
        found = []
        for installation in await reads.installations.for_app(app_id):
            template = self._catalog.get(installation.template_id)
            task = await reads.tasks.get(app_id, installation.dialog_task_id)
            if template is not None and task is not None and task.status == "active":
                found.append(tool(template, task, shape))
        return sorted(found, key=_tool_key)

    async def dialog_task(self, app_id: str, dialog_task_id: str) -> DialogTask:
        task = await self._uow.reads().tasks.get(app_id, dialog_task_id)
        if task is None:
            raise DialogTaskNotFound(f"App {app_id!r} has no dialog task {dialog_task_id!r}")
        return task


def _tool_key(item: dict[str, Any]) -> str:
    return str(item.get("name") or item.get("function", {}).get("name"))
