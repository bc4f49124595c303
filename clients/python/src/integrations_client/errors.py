"""Everything the client raises: problem answers as typed exceptions, and the failures around them.

A service's RFC 9457 answer becomes the `ProblemError` subclass of its `code` (one class per
contract code: `EditionNotSupported`, `IntegrationNotConfigured`, `InsufficientScope` with
`missing_scopes`, `ValidationError` with `errors`...). A code the client does not know yet
becomes the class of its HTTP status (`Conflict`, `NotFound`...), so `except Conflict` keeps
working when a service adds a code. Each class carries what was answered (`status`, `code`,
`detail`, the whole `problem`) and where (`service`, `method`, `url`), never a request header.

Besides those: `ServiceUnreachable` (no answer at all, after the retries the method allows) and
`UnexpectedResponse` (an answer that is not the contract's). All derive from `ClientError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from integrations_client.models import FieldError, Problem

__all__ = [
    "AppNotFound",
    "AuthProfileInUse",
    "AuthProfileNotFound",
    "AuthServiceUnavailable",
    "AuthorizationNotFound",
    "BadRequest",
    "ClientError",
    "ClientSecretRequired",
    "Conflict",
    "CredentialNotFound",
    "DialogTaskNotFound",
    "EditionNotSupported",
    "Forbidden",
    "Gone",
    "IllegalTransition",
    "InstallationNotFound",
    "InsufficientScope",
    "IntegrationDisabled",
    "IntegrationNotConfigured",
    "IntegrationNotFound",
    "InternalError",
    "InvalidCallbackUrl",
    "MalformedJson",
    "NotFound",
    "PayloadTooLarge",
    "ProblemError",
    "ProviderUnavailable",
    "ReauthorizationRequired",
    "ReturnUrlNotAllowed",
    "RunInProgress",
    "RunNotFound",
    "ServiceUnavailable",
    "ServiceUnreachable",
    "SystemProfileUnavailable",
    "TemplateNotFound",
    "TooManyOpenAuthorizations",
    "TooManyRequests",
    "Unauthenticated",
    "UnexpectedResponse",
    "UnprocessableEntity",
    "UnsupportedMediaType",
    "ValidationError",
    "problem_error",
]


class ClientError(Exception):
    """Anything the integrations client raises about a call."""


class ServiceUnreachable(ClientError):
    """No answer: the connection failed or timed out, on every attempt the method allowed."""

    def __init__(self, service: str, method: str, url: str, attempts: int, reason: str) -> None:
        self.service, self.method, self.url = service, method, url
        self.attempts, self.reason = attempts, reason
        tries = "attempt" if attempts == 1 else "attempts"
        super().__init__(f"{service} did not answer {method} {url} ({attempts} {tries}): {reason}")


class UnexpectedResponse(ClientError):
    """An answer that is not what the contract says (a body that does not parse, a status it
    does not name). The message names what was wrong, never the body's values."""

    def __init__(self, service: str, method: str, url: str, status: int, reason: str) -> None:
        self.service, self.method, self.url, self.status = service, method, url, status
        self.reason = reason
        super().__init__(f"{service} answered {method} {url} with {status}: {reason}")


class ProblemError(ClientError):
    """A problem+json answer. `CODE` and `STATUS` are the class's; `code` and `status` what the
    service actually answered (the same, unless the class was chosen by status alone)."""

    CODE: ClassVar[str] = ""
    STATUS: ClassVar[int] = 0

    def __init__(
        self, problem: Problem, *, service: str = "", method: str = "", url: str = ""
    ) -> None:
        self.problem = problem
        self.status = problem.status
        self.code = problem.code or self.CODE
        self.title = problem.title
        self.detail = problem.detail or problem.title
        self.service, self.method, self.url = service, method, url
        super().__init__(f"{self.status} {self.code}: {self.detail}")

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status}, code={self.code!r}, "
            f"detail={self.detail!r})"
        )


# --- by HTTP status: what an unknown code falls back to -------------------------------------


class BadRequest(ProblemError):
    CODE, STATUS = "bad_request", 400


class Unauthenticated(ProblemError):
    CODE, STATUS = "unauthenticated", 401


class Forbidden(ProblemError):
    CODE, STATUS = "forbidden", 403


class NotFound(ProblemError):
    CODE, STATUS = "not_found", 404


class Conflict(ProblemError):
    CODE, STATUS = "conflict", 409


class Gone(ProblemError):
    CODE, STATUS = "gone", 410


class PayloadTooLarge(ProblemError):
    CODE, STATUS = "payload_too_large", 413


class UnsupportedMediaType(ProblemError):
    CODE, STATUS = "unsupported_media_type", 415


class UnprocessableEntity(ProblemError):
    CODE, STATUS = "unprocessable_entity", 422


class TooManyRequests(ProblemError):
    CODE, STATUS = "too_many_requests", 429


class InternalError(ProblemError):
    CODE, STATUS = "internal_error", 500


class ServiceUnavailable(ProblemError):
    CODE, STATUS = "service_unavailable", 503


# --- by contract code -----------------------------------------------------------------------


class MalformedJson(BadRequest):
    CODE = "malformed_json"


class EditionNotSupported(Forbidden):
    """Only developer and enterprise apps may configure an integration."""

    CODE = "edition_not_supported"


class AppNotFound(NotFound):
    CODE = "app_not_found"


class IntegrationNotFound(NotFound):
    CODE = "integration_not_found"


class AuthorizationNotFound(NotFound):
    CODE = "authorization_not_found"


class CredentialNotFound(NotFound):
    CODE = "credential_not_found"


class TemplateNotFound(NotFound):
    CODE = "template_not_found"


class InstallationNotFound(NotFound):
    CODE = "installation_not_found"


class DialogTaskNotFound(NotFound):
    CODE = "dialog_task_not_found"


class RunNotFound(NotFound):
    CODE = "run_not_found"


class IllegalTransition(Conflict):
    """A command the current state does not allow; the codes below are its kinds."""

    CODE = "illegal_transition"


class ReauthorizationRequired(IllegalTransition):
    CODE = "reauthorization_required"


class IntegrationNotConfigured(IllegalTransition):
    CODE = "integration_not_configured"


class IntegrationDisabled(IllegalTransition):
    CODE = "integration_disabled"


class AuthProfileInUse(Conflict):
    CODE = "auth_profile_in_use"


class RunInProgress(Conflict):
    """A run with the same idempotency key is still running: ask again later to get it."""

    CODE = "run_in_progress"


class InsufficientScope(Conflict):
    """The connection lacks scopes a template needs; consenting again with them fixes it."""

    CODE = "insufficient_scope"

    def __init__(
        self, problem: Problem, *, service: str = "", method: str = "", url: str = ""
    ) -> None:
        super().__init__(problem, service=service, method=method, url=url)
        self.missing_scopes: list[str] = list(problem.missing_scopes)


class ValidationError(UnprocessableEntity):
    """422 `validation_error`: `errors` names each bad field."""

    CODE = "validation_error"

    def __init__(
        self, problem: Problem, *, service: str = "", method: str = "", url: str = ""
    ) -> None:
        super().__init__(problem, service=service, method=method, url=url)
        self.errors: list[FieldError] = list(problem.errors)


class AuthProfileNotFound(UnprocessableEntity):
    """A custom profile that is missing, deleted, of another app or for another integration."""

    CODE = "auth_profile_not_found"


class InvalidCallbackUrl(UnprocessableEntity):
    CODE = "invalid_callback_url"


class ClientSecretRequired(UnprocessableEntity):
    CODE = "client_secret_required"


class ReturnUrlNotAllowed(UnprocessableEntity):
    CODE = "return_url_not_allowed"


class TooManyOpenAuthorizations(TooManyRequests):
    CODE = "too_many_open_authorizations"


class SystemProfileUnavailable(ServiceUnavailable):
    """No system OAuth app is configured for that integration: retrying does not help."""

    CODE = "system_profile_unavailable"


class ProviderUnavailable(ServiceUnavailable):
    CODE = "provider_unavailable"


class AuthServiceUnavailable(ServiceUnavailable):
    CODE = "auth_service_unavailable"


def _subclasses(cls: type[ProblemError]) -> list[type[ProblemError]]:
    found = [cls]
    for sub in cls.__subclasses__():
        found.extend(_subclasses(sub))
    return found


_BY_STATUS: dict[int, type[ProblemError]] = {
    cls.STATUS: cls for cls in ProblemError.__subclasses__() if cls.STATUS
}
_BY_CODE: dict[str, type[ProblemError]] = {
    cls.CODE: cls for cls in _subclasses(ProblemError) if cls.CODE
}


def problem_error(
    status: int,
    body: Mapping[str, Any] | None,
    *,
    service: str = "",
    method: str = "",
    url: str = "",
) -> ProblemError:
    """The exception for an error answer: by its code, else by its status, else the base."""
    fallback = _BY_STATUS.get(status, ProblemError)
    fields: dict[str, Any] = dict(body) if body is not None else {}
    fields["status"] = status  # the HTTP status wins over whatever the body claims
    try:
        problem = Problem.model_validate(fields)
    except ValueError:
        problem = Problem(status=status)
    cls = _BY_CODE.get(problem.code, fallback)
    filled: dict[str, Any] = {}
    if not problem.code:
        filled["code"] = cls.CODE
    if not problem.detail and not problem.title:
        # Not a problem answer (a proxy's error page, an empty body): say what is known.
        filled["detail"] = f"HTTP {status} without a problem body"
    if filled:
        problem = problem.model_copy(update=filled)
    return cls(problem, service=service, method=method, url=url)
