"""auth-service's problem codes (contract §2), raised by any layer, rendered as RFC 9457; the
codes other services answer with too live in `platform_core.errors` and are listed here.

Below them, the failures of the outside world that the service layer decides about: what an
identity provider refused or could not answer, and a sealed secret that cannot be opened.
"""

from __future__ import annotations

from platform_core.errors import (
    AuthProfileNotFound,
    Conflict,
    IntegrationDisabled,
    IntegrationNotFound,
    NotFound,
    ReauthorizationRequired,
    ServiceUnavailable,
    SystemProfileUnavailable,
    TooManyRequests,
    UnprocessableEntity,
)

__all__ = [
    "AuthProfileInUse",
    "AuthProfileNotFound",
    "AuthorizationNotFound",
    "ClientSecretRequired",
    "CredentialNotFound",
    "IntegrationDisabled",
    "IntegrationNotFound",
    "InvalidCallbackUrl",
    "ProfileNotFound",
    "ProviderRefused",
    "ProviderUnavailable",
    "ProviderUnavailableError",
    "ReauthorizationRequired",
    "ReturnUrlNotAllowed",
    "SystemProfileUnavailable",
    "TooManyOpenAuthorizations",
    "Undecryptable",
]


class ProfileNotFound(NotFound):
    """A profile route naming no live profile of the app (the resource itself is missing)."""


class AuthProfileInUse(Conflict):
    code = "auth_profile_in_use"
    title = "Auth Profile In Use"


class InvalidCallbackUrl(UnprocessableEntity):
    code = "invalid_callback_url"
    title = "Invalid Callback URL"


class ClientSecretRequired(UnprocessableEntity):
    code = "client_secret_required"
    title = "Client Secret Required"


class ReturnUrlNotAllowed(UnprocessableEntity):
    code = "return_url_not_allowed"
    title = "Return URL Not Allowed"


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"
    title = "Authorization Not Found"


class CredentialNotFound(NotFound):
    code = "credential_not_found"
    title = "Credential Not Found"


class ProviderUnavailableError(ServiceUnavailable):
    code = "provider_unavailable"
    title = "Provider Unavailable"


class TooManyOpenAuthorizations(TooManyRequests):
    code = "too_many_open_authorizations"
    title = "Too Many Open Authorizations"


# --- what the outside world did ---------------------------------------------------------------


class ProviderRefused(Exception):
    """The identity provider refused (RFC 6749 §5.2): `invalid_grant`, `invalid_client`...

    `error` is one of a fixed set of codes (never the provider's own choice of string);
    `description` is the provider's text, truncated.
    """

    def __init__(self, error: str, description: str | None, status: int) -> None:
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status


class ProviderUnavailable(Exception):
    """The provider could not answer usefully: timeouts, connection errors, 5xx, 429, garbage."""


class Undecryptable(Exception):
    """A sealed secret that no configured key opens (key removed, record tampered)."""
