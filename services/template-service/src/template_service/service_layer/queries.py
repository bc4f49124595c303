"""The reads of contract §3: templates, one app's view of them, installations and dialog tasks."""

from __future__ import annotations

from dataclasses import dataclass

from template_service.domain.dialog_task import DialogTask
from template_service.domain.errors import DialogTaskNotFound, TemplateNotFound
from template_service.domain.installation import Installation
from template_service.domain.template import Template, TemplateCatalog
from template_service.service_layer.ports import (
    DialogTaskStore,
    InstallationStore,
    IntegrationStateStore,
    Page,
)


@dataclass(frozen=True)
class AppTemplate:
    """A template as one app sees it: installable while its integration is configured."""

    template: Template
    installable: bool
    installation: Installation | None


class Queries:
    def __init__(
        self,
        catalog: TemplateCatalog,
        integrations: IntegrationStateStore,
        installations: InstallationStore,
        tasks: DialogTaskStore,
    ) -> None:
        self._catalog = catalog
        self._integrations = integrations
        self._installations = installations
        self._tasks = tasks

    def templates(self, integration: str | None = None) -> list[Template]:
        return self._catalog.all(integration)

    def template(self, template_id: str) -> Template:
        template = self._catalog.get(template_id)
        if template is None:
            raise TemplateNotFound(f"There is no template {template_id!r}")
        return template

    async def app_templates(self, app_id: str, integration: str | None = None) -> list[AppTemplate]:
        states = await self._integrations.for_app(app_id)
        installed = {i.template_id: i for i in await self._installations.for_app(app_id)}
        views = []
        for template in self._catalog.all(integration):
            state = states.get(template.integration)
            views.append(
                AppTemplate(
                    template=template,
                    installable=state is not None and state.installable,
                    installation=installed.get(template.template_id),
                )
            )
        return views

    async def installations(
        self, app_id: str, limit: int, cursor: str | None
    ) -> Page[Installation]:
        return await self._installations.page(app_id, limit, cursor)

    async def dialog_tasks(self, app_id: str, limit: int, cursor: str | None) -> Page[DialogTask]:
        return await self._tasks.page(app_id, limit, cursor)

    async def dialog_task(self, app_id: str, dialog_task_id: str) -> DialogTask:
        task = await self._tasks.get(app_id, dialog_task_id)
        if task is None:
            raise DialogTaskNotFound(f"App {app_id!r} has no dialog task {dialog_task_id!r}")
        return task
