"""An installation: one template installed in one app, and the dialog task it created.

Each command returns a transition with the events it raises: installing creates the task and
the installation (`dialog_task.created`, `template.installed`); installing a newer version of
the template upgrades the task in place (same `dialog_task_id`, `dialog_task.updated`);
uninstalling deletes both (`template.uninstalled`, `dialog_task.deleted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from platform_core.contract_types import UtcDateTime
from platform_core.domain import Transition
from platform_core.events import (
    DialogTaskCreated,
    DialogTaskDeleted,
    TemplateInstalled,
    TemplateUninstalled,
)
from template_service.domain.dialog_task import DialogTask, build_dialog_task
from template_service.domain.nodes import AuthBinding, Frozen
from template_service.domain.template import Template


@dataclass(frozen=True)
class Installed:
    installation: Installation
    task: DialogTask


class Installation(Frozen):
    installation_id: str
    app_id: str
    template_id: str
    template_version: str
    dialog_task_id: str
    installed_at: UtcDateTime

    @classmethod
    def install(
        cls,
        template: Template,
        *,
        app_id: str,
        installation_id: str,
        dialog_task_id: str,
        binding: AuthBinding,
        now: datetime,
    ) -> Transition[Installed]:
        task = build_dialog_task(
            template, app_id=app_id, dialog_task_id=dialog_task_id, binding=binding, now=now
        )
        installation = cls(
            installation_id=installation_id,
            app_id=app_id,
            template_id=template.template_id,
            template_version=template.version,
            dialog_task_id=dialog_task_id,
            installed_at=now,
        )
        both = Installed(installation, task)
        created = DialogTaskCreated(
            app_id=app_id,
            dialog_task_id=dialog_task_id,
            name=task.name,
            template_id=template.template_id,
            definition=task.definition(),
        )
        return Transition("installed", both, both, (created, installation._installed()))

    def upgrade(
        self, task: DialogTask, template: Template, binding: AuthBinding | None
    ) -> Transition[Installed]:
        """The task rebuilt from a newer version of its template, keeping its id and birth."""
        before = Installed(self, task)
        if self.template_version == template.version:
            return Transition.unchanged("up_to_date", before)
        rebuilt = build_dialog_task(
            template,
            app_id=self.app_id,
            dialog_task_id=self.dialog_task_id,
            binding=binding,
            now=task.created_at,
        )
        upgraded = self.model_copy(update={"template_version": template.version})
        after = Installed(upgraded, rebuilt)
        return Transition("upgraded", before, after, (task.updated(rebuilt),))

    def uninstall(self) -> Transition[Installation]:
        events = (
            TemplateUninstalled(
                app_id=self.app_id,
                template_id=self.template_id,
                installation_id=self.installation_id,
                dialog_task_id=self.dialog_task_id,
            ),
            DialogTaskDeleted(app_id=self.app_id, dialog_task_id=self.dialog_task_id),
        )
        return Transition("uninstalled", self, self, events)

    def _installed(self) -> TemplateInstalled:
        return TemplateInstalled(
            app_id=self.app_id,
            template_id=self.template_id,
            template_version=self.template_version,
            installation_id=self.installation_id,
            dialog_task_id=self.dialog_task_id,
        )
