"""Installing and uninstalling templates (contract §3), each in one unit of work with its events.

Install creates the dialog task and the installation with `dialog_task.created` and
`template.installed` in one transaction, after checking that the app's connection has the
template's `required_scopes` (409 `insufficient_scope` naming the missing ones). Installing a
template the app already has returns the existing installation, or, when the catalog holds a
newer version, upgrades its task in place (same `dialog_task_id`, `dialog_task.updated`).
Concurrent installs of one template race on the unique indexes: the transaction that loses
either re-runs (a write conflict is transient) and finds the winner's installation, or fails
with a duplicate key, after which the winner's installation is read and returned. The install
also writes to the integration's state, so an install racing with a disable or removal
conflicts with it instead of leaving a bound task behind a disabled integration. "Skip for Now"
is simply not calling install.
"""

from __future__ import annotations

import uuid

from platform_core.contract_types import utc_now
from template_service.domain.errors import (
    AlreadyInstalled,
    ConcurrentChange,
    InstallationNotFound,
    InsufficientScope,
    IntegrationNotConfigured,
    TemplateNotFound,
)
from template_service.domain.installation import Installation
from template_service.domain.nodes import AuthBinding
from template_service.domain.template import Template, TemplateCatalog
from template_service.service_layer.ports import Clock, Tx, Units
from template_service.service_layer.scopes import ConnectionScopes


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


class Installations:
    def __init__(
        self,
        uow: Units,
        catalog: TemplateCatalog,
        scopes: ConnectionScopes,
        clock: Clock = utc_now,
    ) -> None:
        self._uow = uow
        self._catalog = catalog
        self._scopes = scopes
        self._clock = clock

    async def install(self, app_id: str, template_id: str) -> tuple[Installation, bool]:
        """The app's installation of the template, and whether this call created it."""
        template = self._catalog.get(template_id)
        if template is None:
            raise TemplateNotFound(f"There is no template {template_id!r}")
        reads = self._uow.reads()
        existing = await reads.installations.find(app_id, template_id)
        if existing is not None and existing.template_version == template.version:
            return existing, False
        state = await reads.integrations.get(app_id, template.integration)
        if existing is None and state is not None and state.installable:
            missing = await self._scopes.missing(template, state, strict=True)
            if missing:
                raise InsufficientScope(missing)
        try:
            return await self._uow.run(lambda tx: self._install_in(tx, app_id, template))
        except AlreadyInstalled:
            winner = await reads.installations.find(app_id, template_id)
            if winner is None:
                raise ConcurrentChange(
                    "The template was installed and uninstalled meanwhile; try again"
                ) from None
            return winner, False

    async def _install_in(
        self, tx: Tx, app_id: str, template: Template
    ) -> tuple[Installation, bool]:
        state = await tx.repos.integrations.get(app_id, template.integration)
        binding = state.binding() if state is not None else None
        existing = await tx.repos.installations.find(app_id, template.template_id)
        if existing is not None:
            return await self._upgrade_in(tx, existing, template, binding), False
        if binding is None:
            raise IntegrationNotConfigured(
                f"Configure (and enable) {template.integration} before installing its templates"
            )
        await tx.repos.integrations.guard(app_id, template.integration)
        installed = Installation.install(
            template,
            app_id=app_id,
            installation_id=new_id("inst"),
            dialog_task_id=new_id("dt"),
            binding=binding,
            now=self._clock(),
        )
        await tx.repos.tasks.insert(installed.after.task)
        await tx.repos.installations.insert(installed.after.installation)
        tx.publish_all(installed.events)
        return installed.after.installation, True

    async def _upgrade_in(
        self, tx: Tx, existing: Installation, template: Template, binding: AuthBinding | None
    ) -> Installation:
        task = await tx.repos.tasks.get(existing.app_id, existing.dialog_task_id)
        if task is None:
            return existing
        upgraded = existing.upgrade(task, template, binding)
        if upgraded.changed:
            await tx.repos.tasks.replace(upgraded.after.task)
            await tx.repos.installations.replace(upgraded.after.installation)
            tx.publish_all(upgraded.events)
        return upgraded.after.installation

    async def uninstall(self, app_id: str, installation_id: str) -> None:
        """Delete the installation and its dialog task."""
        await self._uow.run(lambda tx: self._uninstall_in(tx, app_id, installation_id))

    async def _uninstall_in(self, tx: Tx, app_id: str, installation_id: str) -> None:
        installation = await tx.repos.installations.get(app_id, installation_id)
        if installation is None:
            raise InstallationNotFound(f"App {app_id!r} has no installation {installation_id!r}")
        uninstalled = installation.uninstall()
        await tx.repos.tasks.delete(installation.dialog_task_id)
        await tx.repos.installations.delete(installation_id)
        tx.publish_all(uninstalled.events)
