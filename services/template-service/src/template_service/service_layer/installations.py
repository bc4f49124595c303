"""Installing and uninstalling templates (contract §3), each in one unit of work with its events.

Install creates the dialog task from the blueprint, the installation, `dialog_task.created` and
`template.installed` in one transaction. Installing a template the app already has returns the
existing installation and changes nothing. Concurrent installs of one template race on the
unique indexes: the transaction that loses either re-runs (a write conflict is transient) and
finds the winner's installation, or fails with a duplicate key, after which the winner's
installation is read and returned. The install also writes to the integration's state, so an
install racing with a disable or removal conflicts with it instead of leaving a bound task
behind a disabled integration. "Skip for Now" is simply not calling install.
"""

from __future__ import annotations

import uuid

from platform_core.contract_types import utc_now
from platform_core.events import (
    DialogTaskCreated,
    DialogTaskDeleted,
    TemplateInstalled,
    TemplateUninstalled,
)
from template_service.domain.dialog_task import build_dialog_task
from template_service.domain.errors import (
    AlreadyInstalled,
    ConcurrentChange,
    InstallationNotFound,
    IntegrationNotConfigured,
    TemplateNotFound,
)
from template_service.domain.installation import Installation
from template_service.domain.template import Template, TemplateCatalog
from template_service.service_layer.ports import Clock, Tx, Units


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Installations:
    def __init__(
        self,
        uow: Units,
        catalog: TemplateCatalog,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._catalog = catalog
        self._clock = clock

    async def install(self, app_id: str, template_id: str) -> tuple[Installation, bool]:
        """The app's installation of the template, and whether this call created it."""
        template = self._catalog.get(template_id)
        if template is None:
            raise TemplateNotFound(f"There is no template {template_id!r}")
        existing = await self._uow.reads().installations.find(app_id, template_id)
        if existing is not None:
            return existing, False
        try:
            return await self._uow.run(lambda tx: self._install_in(tx, app_id, template))
        except AlreadyInstalled:
            winner = await self._uow.reads().installations.find(app_id, template_id)
            if winner is None:
                raise ConcurrentChange(
                    "The template was installed and uninstalled meanwhile; try again"
                ) from None
            return winner, False

    async def _install_in(
        self, tx: Tx, app_id: str, template: Template
    ) -> tuple[Installation, bool]:
        existing = await tx.repos.installations.find(app_id, template.template_id)
        if existing is not None:
            return existing, False
        state = await tx.repos.integrations.get(app_id, template.integration)
        binding = state.binding() if state is not None else None
        if state is None or binding is None:
            raise IntegrationNotConfigured(
                f"Configure (and enable) {template.integration} before installing its templates"
            )
        await tx.repos.integrations.guard(app_id, template.integration)
        now = self._clock()
        task = build_dialog_task(
            template, app_id=app_id, dialog_task_id=new_id("dt"), binding=binding, now=now
        )
        installation = Installation(
            installation_id=new_id("inst"),
            app_id=app_id,
            template_id=template.template_id,
            template_version=template.version,
            dialog_task_id=task.dialog_task_id,
            installed_at=now,
        )
        await tx.repos.tasks.insert(task)
        await tx.repos.installations.insert(installation)
        tx.publish(
            DialogTaskCreated(
                app_id=app_id,
                dialog_task_id=task.dialog_task_id,
                name=task.name,
                template_id=template.template_id,
                definition=task.definition(),
            )
        )
        tx.publish(
            TemplateInstalled(
                app_id=app_id,
                template_id=template.template_id,
                template_version=template.version,
                installation_id=installation.installation_id,
                dialog_task_id=task.dialog_task_id,
            )
        )
        return installation, True

    async def uninstall(self, app_id: str, installation_id: str) -> None:
        """Delete the installation and its dialog task."""
        await self._uow.run(lambda tx: self._uninstall_in(tx, app_id, installation_id))

    async def _uninstall_in(self, tx: Tx, app_id: str, installation_id: str) -> None:
        installation = await tx.repos.installations.get(app_id, installation_id)
        if installation is None:
            raise InstallationNotFound(f"App {app_id!r} has no installation {installation_id!r}")
        await tx.repos.tasks.delete(installation.dialog_task_id)
        await tx.repos.installations.delete(installation_id)
        tx.publish(
            TemplateUninstalled(
                app_id=app_id,
                template_id=installation.template_id,
                installation_id=installation_id,
                dialog_task_id=installation.dialog_task_id,
            )
        )
        tx.publish(DialogTaskDeleted(app_id=app_id, dialog_task_id=installation.dialog_task_id))
