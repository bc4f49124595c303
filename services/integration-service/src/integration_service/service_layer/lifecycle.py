"""The integration commands of contract §1: read, configure, enable/disable, remove, user links.

A command that changes an integration runs `changes.apply_in` in a unit of work; when another
writer got there first (`VersionConflict`) it re-reads and decides again, a bounded number of
times, then answers 409 `conflict`. auth-service is always called before the transaction (to
start a consent, or to check the profile of a user_authorize), so a failed call leaves nothing
written. A trial app keeps what it has configured and may disable or remove it, but may add no
new configuration and no user link.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

from integration_service.domain.apps import App
from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.catalog import Catalog, CatalogEntry
from integration_service.domain.errors import AppNotFound
from integration_service.domain.integration import (
    Integration,
    PendingAuthorization,
    new_integration,
)
from integration_service.service_layer.changes import Decide, apply_in
from integration_service.service_layer.ports import AuthService, Clock, Tx, Units
from platform_core.contract_types import (
    AppSubject,
    AuthorizationType,
    ProfileRef,
    UserSubject,
    utc_now,
)
from platform_core.domain import VersionConflict
from platform_core.errors import ConcurrentChange, IntegrationNotFound, ValidationFailed

DEFAULT_MAX_ATTEMPTS = 30


@dataclass(frozen=True)
class IntegrationView:
    """An app's integration as the API shows it: its catalog entry and whether it may change."""

    integration: Integration
    entry: CatalogEntry
    app: App

    @property
    def configurable(self) -> bool:
        return self.app.can_configure(self.entry)


class Lifecycle:
    def __init__(
        self,
        uow: Units,
        auth: AuthService,
        catalog: Catalog,
        *,
        clock: Clock = utc_now,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self._uow = uow
        self._auth = auth
        self._catalog = catalog
        self._clock = clock
        self._max_attempts = max_attempts

    # --- queries -----------------------------------------------------------------------------

    async def views(self, app_id: str) -> list[IntegrationView]:
        app = await self._app(app_id)
        stored = await self._uow.reads().integrations.for_app(app_id)
        return [
            IntegrationView(
                stored.get(entry.integration) or new_integration(app_id, entry.integration),
                entry,
                app,
            )
            for entry in self._catalog
        ]

    async def view(self, app_id: str, integration: str) -> IntegrationView:
        app = await self._app(app_id)
        entry = self._entry(integration)
        stored = await self._uow.reads().integrations.get(app_id, integration)
        return IntegrationView(stored or new_integration(app_id, integration), entry, app)

    # --- commands ----------------------------------------------------------------------------

    async def configure_pre_authorize(
        self, app_id: str, integration: str, profile: ProfileRef, return_url: str | None
    ) -> tuple[IntegrationView, PendingAuthorization]:
        app, entry = await self._configurable(app_id, integration, "pre_authorize")
        issued = await self._auth.create_authorization(
            AuthorizationRequest(
                app_id=app_id,
                integration=integration,
                profile=profile,
                subject=AppSubject(),
                return_url=return_url,
                app_name=app.name,
            )
        )
        pending = PendingAuthorization(
            authorization_id=issued.authorization_id,
            profile=profile,
            authorization_url=issued.authorization_url,
            expires_at=issued.expires_at,
            requested_at=self._clock(),
        )
        view = await self._change(
            app_id,
            entry,
            lambda current, now: current.request_pre_authorize(pending, now),
            new_configuration=True,
        )
        return view, pending

    async def configure_user_authorize(
        self, app_id: str, integration: str, profile: ProfileRef
    ) -> IntegrationView:
        _, entry = await self._configurable(app_id, integration, "user_authorize")
        await self._auth.check_profile(app_id, integration, profile)
        return await self._change(
            app_id,
            entry,
            lambda current, now: current.configure_user_authorize(profile, now),
            new_configuration=True,
        )

    async def set_enabled(self, app_id: str, integration: str, enabled: bool) -> IntegrationView:
        entry = await self._known(app_id, integration)
        if enabled:
            return await self._change(app_id, entry, lambda i, now: i.enable(now))
        return await self._change(app_id, entry, lambda i, now: i.disable(now))

    async def remove(self, app_id: str, integration: str) -> None:
        entry = await self._known(app_id, integration)
        await self._change(app_id, entry, lambda i, now: i.remove(now))

    async def issue_user_link(
        self, app_id: str, integration: str, user_id: str, return_url: str | None
    ) -> IssuedAuthorization:
        """Nothing is written here: auth-service keeps the authorization it creates."""
        view = await self.view(app_id, integration)
        view.app.require_can_configure(view.entry)
        profile = view.integration.require_user_links()
        return await self._auth.create_authorization(
            AuthorizationRequest(
                app_id=app_id,
                integration=integration,
                profile=profile,
                subject=UserSubject(user_id=user_id),
                return_url=return_url,
                app_name=view.app.name,
            )
        )

    # --- helpers -----------------------------------------------------------------------------

    async def _app(self, app_id: str) -> App:
        app = await self._uow.reads().apps.get(app_id)
        if app is None:
            raise AppNotFound(f"No app {app_id!r} is registered")
        return app

    def _entry(self, integration: str) -> CatalogEntry:
        entry = self._catalog.get(integration)
        if entry is None:
            raise IntegrationNotFound(f"No integration {integration!r} in the catalog")
        return entry

    async def _known(self, app_id: str, integration: str) -> CatalogEntry:
        await self._app(app_id)
        return self._entry(integration)

    async def _configurable(
        self, app_id: str, integration: str, kind: AuthorizationType
    ) -> tuple[App, CatalogEntry]:
        app = await self._app(app_id)
        entry = self._entry(integration)
        app.require_can_configure(entry)
        if kind not in entry.authorization_types:
            raise ValidationFailed(
                [
                    {
                        "field": "type",
                        "location": "body",
                        "message": f"{entry.display_name} does not support {kind}",
                        "type": "unsupported_authorization_type",
                    }
                ]
            )
        return app, entry

    async def _change(
        self,
        app_id: str,
        entry: CatalogEntry,
        decide: Decide,
        *,
        new_configuration: bool = False,
    ) -> IntegrationView:
        async def work(tx: Tx) -> IntegrationView:
            # Read again inside the transaction: the app may have changed edition meanwhile.
            app = await tx.repos.apps.get(app_id)
            if app is None:
                raise AppNotFound(f"No app {app_id!r} is registered")
            if new_configuration:
                app.require_can_configure(entry)
            transition = await apply_in(tx, app_id, entry.integration, decide, self._clock())
            return IntegrationView(transition.after, entry, app)

        for attempt in range(self._max_attempts):
            try:
                return await self._uow.run(work)
            except VersionConflict:
                await asyncio.sleep(_backoff(attempt))
        raise ConcurrentChange("The integration kept changing; try again")


def _backoff(attempt: int) -> float:
    # Jitter spreads writers that collided so they do not collide again in lockstep.
    return random.uniform(0, min(0.2, 0.005 * 2**attempt))  # noqa: S311
