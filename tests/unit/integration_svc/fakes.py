"""In-memory stand-ins for the service layer's ports: a unit of work, stores and auth-service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from integration_service.domain.apps import App
from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.catalog import Edition
from integration_service.domain.errors import VersionConflict
from integration_service.domain.integration import Integration
from platform_core.contract_types import ProfileRef
from platform_core.errors import ProblemError
from platform_core.events import EventData
from platform_core.unit_of_work import Transaction

T = TypeVar("T")
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


class FakeUnitOfWork:
    """Runs the work against a fake transaction; published events count only when it returns."""

    def __init__(self) -> None:
        self.published: list[EventData] = []

    async def run(self, work: Callable[[Transaction], Awaitable[T]]) -> T:
        tx = Transaction(None, None, "/integration-service")  # type: ignore[arg-type]
        result = await work(tx)
        self.published.extend(self._data(event) for _, event in tx.events)
        return result

    @staticmethod
    def _data(event: Any) -> EventData:
        from platform_core.events import EVENT_TYPES

        return EVENT_TYPES[event.type].model_validate(event.data)


class FakeApps:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}

    def add(self, app_id: str, edition: Edition = "developer") -> App:
        app = App(app_id=app_id, name=app_id, edition=edition, created_at=NOW, updated_at=NOW)
        self.apps[app_id] = app
        return app

    async def get(self, app_id: str, session: Any = None) -> App | None:
        return self.apps.get(app_id)

    async def put(
        self, app_id: str, name: str, edition: Edition, now: datetime, session: Any
    ) -> tuple[App, bool]:
        created = app_id not in self.apps
        self.apps[app_id] = App(
            app_id=app_id, name=name, edition=edition, created_at=now, updated_at=now
        )
        return self.apps[app_id], created


class FakeIntegrations:
    """Compare-and-set like the real repository; `conflicts` makes the next saves lose."""

    def __init__(self) -> None:
        self.docs: dict[tuple[str, str], Integration] = {}
        self.conflicts = 0
        self.saves = 0

    async def get(self, app_id: str, integration: str, session: Any = None) -> Integration | None:
        return self.docs.get((app_id, integration))

    async def for_app(self, app_id: str, session: Any = None) -> dict[str, Integration]:
        return {name: doc for (app, name), doc in self.docs.items() if app == app_id}

    async def save(self, integration: Integration, session: Any) -> None:
        if self.conflicts:
            self.conflicts -= 1
            raise VersionConflict("someone else wrote first")
        key = (integration.app_id, integration.integration)
        stored = self.docs.get(key)
        if (stored.version if stored else 0) != integration.version - 1:
            raise VersionConflict(str(key))
        self.docs[key] = integration
        self.saves += 1


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
