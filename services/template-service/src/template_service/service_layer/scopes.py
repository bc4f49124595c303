"""What a connection can do, against what a template needs (contract §3 `missing_scopes`).

For pre_authorize, the scopes the provider granted the app credential; for user_authorize, the
profile's scopes (the system profile's are its manifest's default scopes). Unknown (no app
credential, auth-service unreachable while listing) is reported as nothing missing: an install
asks again and refuses with `insufficient_scope` only when it knows.
"""

from __future__ import annotations

from collections.abc import Mapping

from platform_core.contract_types import CustomProfileRef
from template_service.domain.errors import AuthServiceUnavailable
from template_service.domain.integration_state import IntegrationState
from template_service.domain.template import Template
from template_service.service_layer.ports import AuthService


class ConnectionScopes:
    def __init__(self, auth: AuthService, default_scopes: Mapping[str, tuple[str, ...]]) -> None:
        self._auth = auth
        self._defaults = default_scopes

    async def of(self, state: IntegrationState) -> tuple[str, ...] | None:
        per_user = state.authorization_type == "user_authorize"
        if per_user and not isinstance(state.profile, CustomProfileRef):
            return self._defaults.get(state.integration, ())
        return await self._auth.connection_scopes(
            state.app_id, state.integration, state.profile, per_user
        )

    async def missing(
        self, template: Template, state: IntegrationState, *, strict: bool
    ) -> list[str]:
        """The template's required scopes the connection lacks; `strict` lets auth-service's
        outage through instead of reporting nothing missing."""
        try:
            granted = await self.of(state)
        except AuthServiceUnavailable:
            if strict:
                raise
            return []
        if granted is None:
            return []
        return [scope for scope in template.required_scopes if scope not in granted]
