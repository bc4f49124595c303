"""integration-service's own problem codes (contract §1), raised by any layer, rendered as
RFC 9457; the codes other services answer with too live in `platform_core.errors`.

They are plain exceptions with an HTTP status attached, so the domain can raise them without
knowing about HTTP.
"""

from __future__ import annotations

from platform_core.errors import (
    AuthProfileNotFound,
    ConcurrentChange,
    Forbidden,
    IllegalTransition,
    IntegrationNotConfigured,
    IntegrationNotFound,
    NotFound,
    ReauthorizationRequired,
    ServiceUnavailable,
    SystemProfileUnavailable,
    TooManyRequests,
    UnprocessableEntity,
)

__all__ = [
    "AppNotFound",
    "AuthProfileNotFound",
    "AuthServiceRejected",
    "AuthServiceUnavailable",
    "ConcurrentChange",
    "EditionNotSupported",
    "IllegalTransition",
    "IntegrationNotConfigured",
    "IntegrationNotFound",
    "ReauthorizationRequired",
    "ReturnUrlNotAllowed",
    "SystemProfileUnavailable",
    "TooManyOpenAuthorizations",
    "TooManyRequests",
]


class AppNotFound(NotFound):
    code = "app_not_found"
    title = "App Not Found"


class EditionNotSupported(Forbidden):
    code = "edition_not_supported"
    title = "Edition Not Supported"


class AuthServiceUnavailable(ServiceUnavailable):
    code = "auth_service_unavailable"
    title = "Auth Service Unavailable"


class AuthServiceRejected(UnprocessableEntity):
    """auth-service refused the request's input (e.g. a return_url it does not allow)."""

    code = "validation_error"
    title = "Validation Error"


class ReturnUrlNotAllowed(UnprocessableEntity):
    """auth-service's RETURN_URL_ALLOWLIST holds no entry the return_url is below."""

    code = "return_url_not_allowed"
    title = "Return URL Not Allowed"


class TooManyOpenAuthorizations(TooManyRequests):
    """auth-service's MAX_OPEN_AUTHORIZATIONS_PER_APP: too many links of the app still open."""

    code = "too_many_open_authorizations"
    title = "Too Many Open Authorizations"
