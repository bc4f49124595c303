"""In-memory stand-ins for the service layer's ports: a unit of work, stores and auth-service."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from integration_manifests import Edition
from integration_service.domain.apps import App
from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.catalog import Catalog, CatalogEntry
from integration_service.domain.integration import Integration
from platform_core.contract_types import ProfileRef
from platform_core.domain import VersionConflict
from platform_core.errors import ProblemError
from tests.support.fake_uow import FakeStore, FakeUnitOfWork

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)

CONFLUENCE_ONLY = Catalog(
    (
        CatalogEntry(
            integration="confluence",
            display_name="Confluence",
            category="actions",
            authorization_types=("pre_authorize", "user_authorize"),
            default_scopes=("write:confluence-content", "offline_access"),
            editions=("developer", "enterprise"),
        ),
    )
)


class FakeApps(FakeStore):
    def add_app(self, app_id: str, edition: Edition = "developer") -> App:
        app = App.register(app_id, app_id, edition, NOW)
        self.items[app_id] = app
        return app

    @property
    def apps(self) -> dict[str, App]:
        return self.items

    async def get(self, app_id: str) -> App | None:
        return self.items.get(app_id)

    async def add(self, app: App) -> None:
        if app.app_id in self.items:
            raise VersionConflict(app.app_id)
        self.items[app.app_id] = app

    async def update(self, app: App) -> None:
        self.items[app.app_id] = app


class FakeIntegrations(FakeStore):
    """Compare-and-set like the real repository; `conflicts` makes the next saves lose."""

    def __init__(self) -> None:
        super().__init__()
        self.conflicts = 0
        self.saves = 0

    @property
    def docs(self) -> dict[tuple[str, str], Integration]:
        return self.items

    async def get(self, app_id: str, integration: str) -> Integration | None:
        return self.items.get((app_id, integration))

    async def for_app(self, app_id: str) -> dict[str, Integration]:
        return {name: doc for (app, name), doc in self.items.items() if app == app_id}

    async def save(self, integration: Integration) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise VersionConflict("someone else wrote first")
        key = (integration.app_id, integration.integration)
        stored = self.items.get(key)
        if (stored.version if stored else 0) != integration.version - 1:
            raise VersionConflict(str(key))
        self.items[key] = integration
        self.saves += 1


@dataclass
class FakeRepositories:
    apps: FakeApps = field(default_factory=FakeApps)
    integrations: FakeIntegrations = field(default_factory=FakeIntegrations)


def unit_of_work() -> FakeUnitOfWork[FakeRepositories]:
    return FakeUnitOfWork(FakeRepositories(), "/integration-service")


class FakeAuth:
    def __init__(self) -> None:
        self.requests: list[AuthorizationRequest] = []
        self.checked: list[ProfileRef] = []
        self.error: ProblemError | None = None

    async def check_profile(self, app_id: str, integration: str, profile: ProfileRef) -> None:
        self.checked.append(profile)
        if self.error is not None:
            raise self.error

    async def create_authorization(self, request: AuthorizationRequest) -> IssuedAuthorization:
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        number = len(self.requests)
        return IssuedAuthorization(
            authorization_id=f"authz-{number}",
            authorization_url=f"https://auth.example/connect/opaque-{number}",
            expires_at=NOW + timedelta(minutes=10),
        )
