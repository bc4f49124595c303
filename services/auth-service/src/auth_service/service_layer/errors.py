"""auth-service's error codes (contract §2 and the cross-service agreements)."""

from __future__ import annotations

from platform_core.errors import Conflict, NotFound, ServiceUnavailable, UnprocessableEntity


class IntegrationNotFound(NotFound):
    code = "integration_not_found"


class AuthProfileNotFound(UnprocessableEntity):
    """A custom profile that is missing, deleted, of another app or for another integration."""

    code = "auth_profile_not_found"


class ProfileNotFound(NotFound):
    code = "auth_profile_not_found"


class AuthProfileInUse(Conflict):
    code = "auth_profile_in_use"


class InvalidCallbackUrl(UnprocessableEntity):
    code = "invalid_callback_url"


class ReturnUrlNotAllowed(UnprocessableEntity):
    code = "return_url_not_allowed"


class SystemProfileUnavailable(ServiceUnavailable):
    code = "system_profile_unavailable"


class AuthorizationNotFound(NotFound):
    code = "authorization_not_found"


class CredentialNotFound(NotFound):
    code = "credential_not_found"


class ReauthorizationRequired(Conflict):
    code = "reauthorization_required"


class ProviderUnavailableError(ServiceUnavailable):
    code = "provider_unavailable"
