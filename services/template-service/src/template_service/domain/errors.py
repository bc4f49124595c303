"""template-service's problem codes (contract §3), raised by any layer, rendered as RFC 9457."""

from __future__ import annotations

from platform_core.errors import Conflict, NotFound


class TemplateNotFound(NotFound):
    code = "template_not_found"
    title = "Template Not Found"


class InstallationNotFound(NotFound):
    code = "installation_not_found"
    title = "Installation Not Found"


class DialogTaskNotFound(NotFound):
    code = "dialog_task_not_found"
    title = "Dialog Task Not Found"


class IntegrationNotConfigured(Conflict):
    code = "integration_not_configured"
    title = "Integration Not Configured"


class ConcurrentChange(Conflict):
    """Concurrent calls changed the same installation; trying again settles it."""

    code = "conflict"
    title = "Conflict"


class AlreadyInstalled(Exception):
    """Another call installed the same template in the same app first (a unique index said so)."""
