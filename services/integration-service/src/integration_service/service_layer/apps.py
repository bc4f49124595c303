"""Registering apps and their editions (PUT/GET /v1/apps/{app_id})."""

from __future__ import annotations

from integration_manifests import Edition
from integration_service.domain.apps import App
from integration_service.domain.errors import AppNotFound
from integration_service.service_layer.ports import Clock, Tx, Units
from platform_core.contract_types import utc_now
from platform_core.domain import VersionConflict


class AppCommands:
    def __init__(self, uow: Units, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._clock = clock

    async def put(self, app_id: str, name: str, edition: Edition) -> tuple[App, bool]:
        """Create or update; an edition change never touches the app's integrations."""

        async def work(tx: Tx) -> tuple[App, bool]:
            existing = await tx.repos.apps.get(app_id)
            if existing is None:
                app = App.register(app_id, name, edition, self._clock())
                await tx.repos.apps.add(app)
                return app, True
            changed = existing.change(name, edition, self._clock())
            if changed is not existing:
                await tx.repos.apps.update(changed)
            return changed, False

        try:
            return await self._uow.run(work)
        except VersionConflict:
            # Two first PUTs raced; the loser now sees the app and updates it.
            return await self._uow.run(work)

    async def get(self, app_id: str) -> App:
        app = await self._uow.reads().apps.get(app_id)
        if app is None:
            raise AppNotFound(f"No app {app_id!r} is registered")
        return app
