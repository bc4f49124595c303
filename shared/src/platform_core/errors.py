"""RFC 9457 problem details: the one error hierarchy every service raises and answers with.

A `ProblemError` carries an HTTP status and a stable snake_case `code` (contract §0). Services
subclass these for their own codes (`class AppNotFound(NotFound): code = "app_not_found"`), so a
handler raises a domain-meaningful error and `problem_middleware` renders it. Anything else that
escapes a handler becomes a 500 whose body names nothing internal; the trace goes to the log.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    def body(self) -> dict[str, Any]:
        return {
            "type": f"urn:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.body())


class BadRequest(ProblemError):
    status = 400
    code = "bad_request"
    title = "Bad Request"


class MalformedJson(BadRequest):
    code = "malformed_json"
    title = "Malformed JSON"


class Unauthenticated(ProblemError):
    status = 401
    code = "unauthenticated"
    title = "Unauthenticated"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="platform"'})


class Forbidden(ProblemError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(ProblemError):
    status = 404
    code = "not_found"
    title = "Not Found"


class MethodNotAllowed(ProblemError):
    status = 405
    code = "method_not_allowed"
    title = "Method Not Allowed"


class Conflict(ProblemError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Gone(ProblemError):
    status = 410
    code = "gone"
    title = "Gone"


class PayloadTooLarge(ProblemError):
    status = 413
    code = "payload_too_large"
    title = "Payload Too Large"


class UnsupportedMediaType(ProblemError):
    status = 415
    code = "unsupported_media_type"
    title = "Unsupported Media Type"


class ValidationFailed(ProblemError):
    """422 `validation_error` with an `errors` list naming each bad field."""

    status = 422
    code = "validation_error"
    title = "Validation Error"

    def __init__(self, errors: Sequence[Mapping[str, str]], detail: str | None = None) -> None:
        fields = ", ".join(str(e["field"]) for e in errors) or "the request"
        super().__init__(detail or f"Invalid value for {fields}", extra={"errors": list(errors)})


class UnprocessableEntity(ProblemError):
    """422 with a specific code, for input that is well-formed but refers to something wrong."""

    status = 422
    code = "unprocessable_entity"
    title = "Unprocessable Entity"


class ServiceUnavailable(ProblemError):
    status = 503
    code = "service_unavailable"
    title = "Service Unavailable"


class TooManyRequests(ProblemError):
    status = 429
    code = "too_many_requests"
    title = "Too Many Requests"


# --- codes that more than one service answers with (contract §1-§3), each defined once ---------


class IntegrationNotFound(NotFound):
    code = "integration_not_found"
    title = "Integration Not Found"


class AuthProfileNotFound(UnprocessableEntity):
    """A custom profile that is missing, deleted, of another app or for another integration."""

    code = "auth_profile_not_found"
    title = "Auth Profile Not Found"


class SystemProfileUnavailable(ServiceUnavailable):
    code = "system_profile_unavailable"
    title = "System Profile Unavailable"


class IllegalTransition(Conflict):
    """A command the current state of what it acts on does not allow."""

    code = "illegal_transition"
    title = "Illegal Transition"


class ReauthorizationRequired(IllegalTransition):
    code = "reauthorization_required"
    title = "Reauthorization Required"


class IntegrationNotConfigured(IllegalTransition):
    code = "integration_not_configured"
    title = "Integration Not Configured"


class IntegrationDisabled(IllegalTransition):
    code = "integration_disabled"
    title = "Integration Disabled"


class ConcurrentChange(Conflict):
    """Other changes kept winning the compare-and-set; the caller may simply try again."""

    code = "conflict"
    title = "Conflict"
