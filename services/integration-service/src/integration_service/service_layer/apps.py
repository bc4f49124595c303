"""Registering apps and their editions (PUT/GET /v1/apps/{app_id})."""

from __future__ import annotations

from integration_service.domain.apps import App
from integration_service.domain.catalog import Edition
from integration_service.domain.errors import AppNotFound, VersionConflict
from integration_service.service_layer.ports import AppStore, Clock, TransactionRunner
from platform_core.contract_types import utc_now
from platform_core.unit_of_work import Transaction


class AppCommands:
    def __init__(self, uow: TransactionRunner, apps: AppStore, clock: Clock = utc_now) -> None:
        self._uow = uow
        self._apps = apps
        self._clock = clock

    async def put(self, app_id: str, name: str, edition: Edition) -> tuple[App, bool]:
        """Create or update; an edition change never touches the app's integrations."""

        async def work(tx: Transaction) -> tuple[App, bool]:
            return await self._apps.put(app_id, name, edition, self._clock(), tx.session)

        try:
            return await self._uow.run(work)
        except VersionConflict:
            # Two first PUTs raced; the loser now sees the app and updates it.
            return await self._uow.run(work)

    async def get(self, app_id: str) -> App:
        app = await self._apps.get(app_id)
        if app is None:
            raise AppNotFound(f"No app {app_id!r} is registered")
        return app
