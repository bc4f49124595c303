"""integration-service's problem codes (contract §1), raised by any layer, rendered as RFC 9457.

They are plain exceptions with an HTTP status attached, so the domain can raise them without
knowing about HTTP.
"""

from __future__ import annotations

from platform_core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    UnprocessableEntity,
)


class AppNotFound(NotFound):
    code = "app_not_found"
    title = "App Not Found"


class IntegrationNotFound(NotFound):
    code = "integration_not_found"
    title = "Integration Not Found"


class EditionNotSupported(Forbidden):
    code = "edition_not_supported"
    title = "Edition Not Supported"


class IllegalTransition(Conflict):
    """A lifecycle command the integration's current state does not allow."""

    code = "illegal_transition"
    title = "Illegal Transition"


class IntegrationNotConfigured(IllegalTransition):
    code = "integration_not_configured"
    title = "Integration Not Configured"


class ReauthorizationRequired(IllegalTransition):
    code = "reauthorization_required"
    title = "Reauthorization Required"


class ConcurrentChange(Conflict):
    """Other changes kept winning the compare-and-set; the caller may simply try again."""

    code = "conflict"
    title = "Conflict"


class AuthProfileNotFound(UnprocessableEntity):
    code = "auth_profile_not_found"
    title = "Auth Profile Not Found"


class SystemProfileUnavailable(ServiceUnavailable):
    code = "system_profile_unavailable"
    title = "System Profile Unavailable"


class AuthServiceUnavailable(ServiceUnavailable):
    code = "auth_service_unavailable"
    title = "Auth Service Unavailable"


class AuthServiceRejected(UnprocessableEntity):
    """auth-service refused the request's input (e.g. a return_url it does not allow)."""

    code = "validation_error"
    title = "Validation Error"


class VersionConflict(Exception):
    """The integration changed since it was read: the compare-and-set did not match."""
