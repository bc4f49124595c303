"""What the service layer needs from the outside, as protocols the adapters (and fakes) meet.

A unit of work hands out `Repositories` bound to its transaction; `reads()` hands out the same
outside any transaction, for queries.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from integration_service.domain.apps import App
from integration_service.domain.authorizations import AuthorizationRequest, IssuedAuthorization
from integration_service.domain.integration import Integration
from platform_core.contract_types import ProfileRef
from platform_core.unit_of_work import Transaction, TransactionRunner

Clock = Callable[[], datetime]


class AuthService(Protocol):
    """What integration-service asks auth-service; each raises the problem the caller should see."""

    async def create_authorization(self, request: AuthorizationRequest) -> IssuedAuthorization: ...

    async def check_profile(self, app_id: str, integration: str, profile: ProfileRef) -> None: ...


class AppStore(Protocol):
    async def get(self, app_id: str) -> App | None: ...

    async def add(self, app: App) -> None:
        """Raises `VersionConflict` when the app exists already."""

    async def update(self, app: App) -> None: ...


class IntegrationStore(Protocol):
    async def get(self, app_id: str, integration: str) -> Integration | None: ...

    async def for_app(self, app_id: str) -> dict[str, Integration]: ...

    async def save(self, integration: Integration) -> None:
        """Compare-and-set on `version`; raises `VersionConflict` when someone wrote first."""


class Repositories(Protocol):
    @property
    def apps(self) -> AppStore: ...

    @property
    def integrations(self) -> IntegrationStore: ...


Tx = Transaction[Repositories]
Units = TransactionRunner[Repositories]
