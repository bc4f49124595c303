"""What template-service knows of one app's integration, kept from integration-service's events.

The read model per (app_id, integration): `configured` (configured and not removed since),
`enabled` (not disabled), and the `authorization_type` and `profile` of the last configuration
(a run asks auth-service for an end user's link with that profile). Templates are
installable, and dialog tasks bound, only while it is configured and enabled. Removal keeps the
installations (their tasks are unbound, `integration_disabled`); a later configuration binds
them again. Each change carries the time of the event that caused it, and an event older than
the last one applied changes nothing, so a late retry cannot undo a newer change.
"""

from __future__ import annotations

from datetime import datetime

from platform_core.contract_types import AuthorizationType, ProfileRef, UtcDateTime
from template_service.domain.nodes import AuthBinding, Frozen


class IntegrationState(Frozen):
    app_id: str
    integration: str
    configured: bool = False
    enabled: bool = False
    authorization_type: AuthorizationType | None = None
    profile: ProfileRef | None = None
    changed_at: UtcDateTime | None = None

    @property
    def installable(self) -> bool:
        return self.binding() is not None

    def binding(self) -> AuthBinding | None:
        if not (self.configured and self.enabled) or self.authorization_type is None:
            return None
        return AuthBinding(integration=self.integration, authorization_type=self.authorization_type)

    def configure(
        self, authorization_type: AuthorizationType, profile: ProfileRef | None, at: datetime
    ) -> IntegrationState:
        return self._change(
            at,
            configured=True,
            enabled=True,
            authorization_type=authorization_type,
            profile=profile,
        )

    def disable(self, at: datetime) -> IntegrationState:
        return self._change(at, enabled=False)

    def enable(self, at: datetime) -> IntegrationState:
        return self._change(at, enabled=True)

    def remove(self, at: datetime) -> IntegrationState:
        return self._change(at, configured=False, enabled=False)

    def _change(self, at: datetime, **changes: object) -> IntegrationState:
        if self.changed_at is not None and at < self.changed_at:
            return self
        return self.model_copy(update={**changes, "changed_at": at})


def unknown_integration(app_id: str, integration: str) -> IntegrationState:
    """An integration no event has told of: not configured."""
    return IntegrationState(app_id=app_id, integration=integration)
