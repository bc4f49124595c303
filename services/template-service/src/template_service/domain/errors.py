"""template-service's problem codes (contract §3), raised by any layer, rendered as RFC 9457; the
codes other services answer with too live in `platform_core.errors` and are listed here."""

from __future__ import annotations

from collections.abc import Sequence

from platform_core.errors import (
    ConcurrentChange,
    Conflict,
    IntegrationDisabled,
    IntegrationNotConfigured,
    NotFound,
    ServiceUnavailable,
)

__all__ = [
    "AlreadyInstalled",
    "AuthServiceUnavailable",
    "ConcurrentChange",
    "DialogTaskNotFound",
    "InstallationNotFound",
    "InsufficientScope",
    "IntegrationDisabled",
    "IntegrationNotConfigured",
    "RunInProgress",
    "RunNotFound",
    "TemplateNotFound",
]


class TemplateNotFound(NotFound):
    code = "template_not_found"
    title = "Template Not Found"


class InstallationNotFound(NotFound):
    code = "installation_not_found"
    title = "Installation Not Found"


class DialogTaskNotFound(NotFound):
    code = "dialog_task_not_found"
    title = "Dialog Task Not Found"


class RunNotFound(NotFound):
    code = "run_not_found"
    title = "Run Not Found"


class InsufficientScope(Conflict):
    """The connection lacks scopes the template's calls need; nothing was called."""

    code = "insufficient_scope"
    title = "Insufficient Scope"

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(
            f"The connection lacks {', '.join(missing)}: configure the integration with a "
            "profile that has them and consent again",
            extra={"missing_scopes": list(missing)},
        )


class RunInProgress(Conflict):
    """A run with the same idempotency key is still running; asking again later gets it."""

    code = "run_in_progress"
    title = "Run In Progress"


class AuthServiceUnavailable(ServiceUnavailable):
    code = "auth_service_unavailable"
    title = "Auth Service Unavailable"


class AlreadyInstalled(Exception):
    """Another call installed the same template in the same app first (a unique index said so)."""
