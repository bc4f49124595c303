"""What the service layer needs from the outside, as protocols the adapters (and fakes) meet."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol, TypeVar

from pymongo.asynchronous.client_session import AsyncClientSession

from integration_service.domain.apps import App
from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.catalog import Edition
from integration_service.domain.integration import Integration
from platform_core.contract_types import ProfileRef
from platform_core.unit_of_work import Transaction

T = TypeVar("T")
Clock = Callable[[], datetime]


class AuthService(Protocol):
    """What integration-service asks auth-service; each raises the problem the caller should see."""

    async def create_authorization(self, request: AuthorizationRequest) -> IssuedAuthorization: ...

    async def check_profile(self, app_id: str, integration: str, profile: ProfileRef) -> None: ...


class TransactionRunner(Protocol):
    async def run(self, work: Callable[[Transaction], Awaitable[T]]) -> T: ...


class AppStore(Protocol):
    async def get(self, app_id: str, session: AsyncClientSession | None = None) -> App | None: ...

    async def put(
        self,
        app_id: str,
        name: str,
        edition: Edition,
        now: datetime,
        session: AsyncClientSession,
    ) -> tuple[App, bool]: ...


class IntegrationStore(Protocol):
    async def get(
        self, app_id: str, integration: str, session: AsyncClientSession | None = None
    ) -> Integration | None: ...

    async def for_app(
        self, app_id: str, session: AsyncClientSession | None = None
    ) -> dict[str, Integration]: ...

    async def save(self, integration: Integration, session: AsyncClientSession) -> None: ...
