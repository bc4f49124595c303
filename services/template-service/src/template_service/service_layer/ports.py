"""What the use cases need from storage, as protocols the MongoDB repositories satisfy.

A unit of work hands out `Repositories` bound to its transaction; `reads()` hands out the same
outside any transaction, for queries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from platform_core.api import PageQuery
from platform_core.contract_types import ProfileRef, Subject
from platform_core.paging import Page
from platform_core.unit_of_work import Transaction, TransactionRunner
from template_service.domain.dialog_task import DialogTask
from template_service.domain.installation import Installation
from template_service.domain.integration_state import IntegrationState
from template_service.domain.run import Run

Clock = Callable[[], datetime]


class IntegrationStateStore(Protocol):
    async def get(self, app_id: str, integration: str) -> IntegrationState | None: ...

    async def for_app(self, app_id: str) -> dict[str, IntegrationState]: ...

    async def guard(self, app_id: str, integration: str) -> None:
        """Write to the state so that a concurrent change of it conflicts with this one."""

    async def save(self, state: IntegrationState) -> None: ...


class InstallationStore(Protocol):
    async def find(self, app_id: str, template_id: str) -> Installation | None: ...

    async def get(self, app_id: str, installation_id: str) -> Installation | None: ...

    async def for_app(self, app_id: str) -> list[Installation]: ...

    async def page(self, app_id: str, query: PageQuery) -> Page[Installation]: ...

    async def insert(self, installation: Installation) -> None:
        """Raises `AlreadyInstalled` when the app has an installation of the template."""

    async def replace(self, installation: Installation) -> None: ...

    async def delete(self, installation_id: str) -> None: ...


class DialogTaskStore(Protocol):
    async def get(self, app_id: str, dialog_task_id: str) -> DialogTask | None: ...

    async def page(self, app_id: str, query: PageQuery) -> Page[DialogTask]: ...

    async def of_integration(self, app_id: str, integration: str) -> list[DialogTask]: ...

    async def insert(self, task: DialogTask) -> None:
        """Raises `AlreadyInstalled` when the app has a task from the same template."""

    async def replace(self, task: DialogTask) -> None: ...

    async def delete(self, dialog_task_id: str) -> None: ...


class RunStore(Protocol):
    async def claim(self, run: Run) -> Run | None:
        """Store a new run; None when the task already has a run with its idempotency key."""

    async def get(self, app_id: str, dialog_task_id: str, run_id: str) -> Run | None: ...

    async def by_key(self, app_id: str, dialog_task_id: str, key: str) -> Run | None: ...

    async def save(self, run: Run) -> None:
        """Compare-and-set on the previous version, or the first write of a run never claimed;
        `VersionConflict` otherwise."""

    async def page(self, app_id: str, dialog_task_id: str, query: PageQuery) -> Page[Run]: ...


@dataclass(frozen=True)
class UserLink:
    """An end user's consent link this service obtained, reused while it is still open."""

    app_id: str
    integration: str
    user_id: str
    authorization_id: str
    link: str
    expires_at: datetime


class UserLinkStore(Protocol):
    async def get(self, app_id: str, integration: str, user_id: str) -> UserLink | None: ...

    async def put(self, link: UserLink) -> None: ...


class Repositories(Protocol):
    @property
    def integrations(self) -> IntegrationStateStore: ...

    @property
    def installations(self) -> InstallationStore: ...

    @property
    def tasks(self) -> DialogTaskStore: ...

    @property
    def runs(self) -> RunStore: ...

    @property
    def user_links(self) -> UserLinkStore: ...


Tx = Transaction[Repositories]
Units = TransactionRunner[Repositories]


@dataclass(frozen=True)
class Connection:
    """What auth-service hands out for one run: a valid token and where its calls go."""

    access_token: str = field(repr=False)
    scopes: tuple[str, ...]
    api_base_url: str | None
    cloud_id: str | None
    site_url: str | None


class NoUsableCredential(Exception):
    """The subject has no credential, or one that needs a new consent."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class AuthService(Protocol):
    """auth-service as a run needs it (contract §2). Raises `NoUsableCredential`, the shared
    `IntegrationDisabled`, or `AuthServiceUnavailable`."""

    async def access_token(
        self, app_id: str, integration: str, subject: Subject, *, force_refresh: bool
    ) -> Connection: ...

    async def user_link(
        self, app_id: str, integration: str, profile: ProfileRef, user_id: str
    ) -> UserLink: ...

    async def link_open(self, app_id: str, authorization_id: str) -> bool: ...

    async def connection_scopes(
        self, app_id: str, integration: str, profile: ProfileRef | None, per_user: bool
    ) -> tuple[str, ...] | None:
        """What the connection can do: the app credential's granted scopes (pre_authorize) or
        the profile's scopes (user_authorize); None when there is nothing to ask."""


@dataclass(frozen=True)
class ProviderRequest:
    integration: str
    method: str
    url: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: Any
    access_token: str = field(repr=False)


@dataclass(frozen=True)
class ProviderResponse:
    status: int
    headers: Mapping[str, str]
    body: Any


class ProviderCallFailed(Exception):
    """The call got no answer: `timed_out`, or the connection failed (maybe after sending)."""

    def __init__(self, reason: str, *, timed_out: bool) -> None:
        super().__init__(reason)
        self.timed_out = timed_out


class ProviderApi(Protocol):
    async def call(self, request: ProviderRequest, timeout_seconds: float) -> ProviderResponse:
        """Raises `ProviderCallFailed`; any HTTP status is an answer."""


class RunMetrics(Protocol):
    def run_finished(self, integration: str, status: str) -> None: ...
