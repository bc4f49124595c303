"""One app's integration and its lifecycle: the state machine of contract §1, with no I/O.

States: `available` → `configured` ⇄ `disabled`, and back to `available` on removal. Each
command below is one named transition; it returns a `Transition` holding the new integration
(version + 1) and the events to publish, or `after is before` when nothing changes (a no-op or
an event that is no longer relevant). A command the current state does not allow raises a 409
(`integration_not_configured` or `reauthorization_required`).

| transition                 | from                          | to                               |
|----------------------------|-------------------------------|----------------------------------|
| request_pre_authorize      | any                           | same state, pending consent      |
| complete_authorization     | any, matching pending consent | configured (connected)           |
| fail_authorization         | any, matching pending consent | same state, last_error           |
| configure_user_authorize   | any                           | configured (per_user)            |
| disable                    | configured (available: 409)   | disabled                         |
| enable                     | disabled (available: 409)     | configured (credential lost: 409)|
| remove                     | configured, disabled, pending | available                        |
| lose_credential            | pre_authorize, its credential | same state, reauthorization_req. |

`connection.status` is derived: `pending` while an available integration waits for consent,
`per_user` for user_authorize, `reauthorization_required` once the app credential is lost,
`connected` otherwise when configured or disabled, `not_connected` when available. A configured
integration being re-configured keeps its working connection's status; the pending consent shows
in `pending_authorization_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from platform_core.contract_types import (
    AuthorizationType,
    ContractModel,
    ErrorInfo,
    ProfileRef,
)
from platform_core.domain import Transition as _Transition
from platform_core.errors import IntegrationNotConfigured, ReauthorizationRequired
from platform_core.events import (
    EventData,
    IntegrationConfigured,
    IntegrationDisabled,
    IntegrationEnabled,
    IntegrationReauthorizationRequired,
    IntegrationRemoved,
)

State = Literal["available", "configured", "disabled"]
Transition = _Transition["Integration"]
ConnectionStatus = Literal[
    "not_connected", "pending", "connected", "per_user", "reauthorization_required"
]


class AuthorizationSettings(ContractModel):
    type: AuthorizationType
    profile: ProfileRef


class PendingAuthorization(ContractModel):
    """A pre_authorize consent asked of auth-service and not finished yet."""

    authorization_id: str
    profile: ProfileRef
    authorization_url: str
    expires_at: datetime
    requested_at: datetime


class Integration(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    integration: str
    state: State = "available"
    authorization: AuthorizationSettings | None = None
    pending: PendingAuthorization | None = None
    credential_id: str | None = None
    credential_lost: bool = False
    last_error: ErrorInfo | None = None
    first_configured_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    @property
    def connection_status(self) -> ConnectionStatus:
        if self.state == "available":
            return "pending" if self.pending is not None else "not_connected"
        if self.authorization is not None and self.authorization.type == "user_authorize":
            return "per_user"
        if self.credential_lost:
            return "reauthorization_required"
        return "connected"

    # --- transitions -------------------------------------------------------------------------

    def request_pre_authorize(self, pending: PendingAuthorization, now: datetime) -> Transition:
        """A new consent replaces any pending one; the state waits for it to complete."""
        after = self._next(now, pending=pending, last_error=None)
        return Transition("pre_authorize_requested", self, after)

    def complete_authorization(
        self, authorization_id: str, credential_id: str, now: datetime
    ) -> Transition:
        pending = self.pending
        if pending is None or pending.authorization_id != authorization_id:
            return self._unchanged("stale_authorization_ignored")
        settings = AuthorizationSettings(type="pre_authorize", profile=pending.profile)
        after = self._configured(now, settings, credential_id=credential_id, credential_lost=False)
        return Transition(
            "pre_authorize_completed", self, after, (self._configured_event(settings, now),)
        )

    def fail_authorization(
        self, authorization_id: str, error: str, description: str | None, now: datetime
    ) -> Transition:
        if self.pending is None or self.pending.authorization_id != authorization_id:
            return self._unchanged("stale_authorization_ignored")
        after = self._next(
            now, pending=None, last_error=ErrorInfo(code=error, description=description)
        )
        return Transition("pre_authorize_failed", self, after)

    def configure_user_authorize(self, profile: ProfileRef, now: datetime) -> Transition:
        settings = AuthorizationSettings(type="user_authorize", profile=profile)
        if self.state == "configured" and self.authorization == settings:
            if self.pending is None:
                return self._unchanged("already_configured")
            return Transition("pending_authorization_replaced", self, self._next(now, pending=None))
        after = self._configured(now, settings, credential_id=None, credential_lost=False)
        return Transition(
            "user_authorize_configured", self, after, (self._configured_event(settings, now),)
        )

    def disable(self, now: datetime) -> Transition:
        if self.state == "available":
            raise IntegrationNotConfigured("Only a configured integration can be disabled")
        if self.state == "disabled":
            return self._unchanged("already_disabled")
        after = self._next(now, state="disabled")
        event = IntegrationDisabled(app_id=self.app_id, integration=self.integration)
        return Transition("disabled", self, after, (event,))

    def enable(self, now: datetime) -> Transition:
        if self.state == "available":
            raise IntegrationNotConfigured("Only a disabled integration can be enabled")
        if self.state == "configured":
            return self._unchanged("already_enabled")
        if self.connection_status == "reauthorization_required":
            raise ReauthorizationRequired(
                "The app credential is no longer active: configure the integration again"
            )
        after = self._next(now, state="configured")
        event = IntegrationEnabled(app_id=self.app_id, integration=self.integration)
        return Transition("enabled", self, after, (event,))

    def remove(self, now: datetime) -> Transition:
        if self.state == "available" and self.pending is None:
            return self._unchanged("already_available")
        after = self._next(
            now,
            state="available",
            authorization=None,
            pending=None,
            credential_id=None,
            credential_lost=False,
            last_error=None,
        )
        event = IntegrationRemoved(app_id=self.app_id, integration=self.integration)
        return Transition("removed", self, after, (event,))

    def lose_credential(self, credential_id: str, now: datetime) -> Transition:
        """The provider no longer honours the app credential this integration runs on."""
        if (
            self.state == "available"
            or self.authorization is None
            or self.authorization.type != "pre_authorize"
            or self.credential_id != credential_id
        ):
            return self._unchanged("unrelated_credential_ignored")
        if self.credential_lost:
            return self._unchanged("already_reauthorization_required")
        after = self._next(now, credential_lost=True)
        event = IntegrationReauthorizationRequired(
            app_id=self.app_id, integration=self.integration, credential_id=credential_id
        )
        return Transition("reauthorization_required", self, after, (event,))

    def require_user_links(self) -> ProfileRef:
        """The profile end users authorize with; only a configured user_authorize has one."""
        if (
            self.state != "configured"
            or self.authorization is None
            or self.authorization.type != "user_authorize"
        ):
            raise IntegrationNotConfigured(
                "User links need the integration configured with user_authorize"
            )
        return self.authorization.profile

    # --- helpers -----------------------------------------------------------------------------

    def _configured(
        self,
        now: datetime,
        settings: AuthorizationSettings,
        *,
        credential_id: str | None,
        credential_lost: bool,
    ) -> Integration:
        return self._next(
            now,
            state="configured",
            authorization=settings,
            pending=None,
            credential_id=credential_id,
            credential_lost=credential_lost,
            last_error=None,
            first_configured_at=self.first_configured_at or now,
        )

    def _configured_event(self, settings: AuthorizationSettings, now: datetime) -> EventData:
        return IntegrationConfigured(
            app_id=self.app_id,
            integration=self.integration,
            authorization_type=settings.type,
            profile=settings.profile,
            first_configuration=self.first_configured_at is None,
            configured_at=now,
        )

    def _next(self, now: datetime, **changes: Any) -> Integration:
        return self.model_copy(update={**changes, "updated_at": now, "version": self.version + 1})

    def _unchanged(self, name: str) -> Transition:
        return _Transition.unchanged(name, self)


def new_integration(app_id: str, integration: str) -> Integration:
    """What an integration is before anyone touched it: available, version 0, not stored."""
    return Integration(app_id=app_id, integration=integration)
