"""The error bodies of Atlassian's gateway and of each API behind it, as the stand-in answers them.

The wording is Atlassian's where public reports quote it: the gateway's `{"code", "message"}`
(`Unauthorized; scope does not match` for a token without the operation's scopes), Confluence
v1's `{"statusCode", "data", "message", "reason"}` (with the `GoneException` of removed
endpoints), Confluence v2's `{"errors": [{"status", "code", "title", "detail"}]}` and Jira's
`{"errorMessages": [...], "errors": {...}}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

_CLASSES: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    401: web.HTTPUnauthorized,
    403: web.HTTPForbidden,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    410: web.HTTPGone,
    429: web.HTTPTooManyRequests,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
}

SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
GATEWAY_UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
# How Confluence v1 refuses a token the gateway let through but Confluence does not accept.
V1_FORBIDDEN = {"statusCode": 403, "message": "Current user not permitted to use Confluence"}
V1_GONE = (
    "com.atlassian.confluence.api.service.exceptions.GoneException: "
    "This deprecated endpoint has been removed."
)
JIRA_SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
RATE_LIMITED = {
    429: {"code": 429, "message": "Too Many Requests"},
    503: {"code": 503, "message": "Service Unavailable"},
}

_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 410: "Gone"}


def json_error(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> web.HTTPException:
    return _CLASSES[status](text=json.dumps(body), content_type="application/json", headers=headers)


def gateway(status: int, body: Mapping[str, Any]) -> web.HTTPException:
    return json_error(status, dict(body))


def unknown_site(path: str) -> web.HTTPException:
    """The gateway's routing 404 for a cloud id it cannot route: the API never saw the call."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "timestamp": now,
        "status": 404,
        "error": "Not Found",
        "message": "No message available",
        "path": path,
    }
    return json_error(404, body)


def v1(status: int, message: str) -> web.HTTPException:
    body = {
        "statusCode": status,
        "data": {
            "authorized": status != 403,
            "valid": status not in (400, 409),
            "allowedInReadOnlyMode": True,
            "errors": [],
            "successful": False,
        },
        "message": message,
        "reason": _REASONS.get(status, ""),
    }
    return json_error(status, body)


def v2(status: int, code: str, title: str, detail: str | None = None) -> web.HTTPException:
    body = {"errors": [{"status": status, "code": code, "title": title, "detail": detail}]}
    return json_error(status, body)


def v2_bad_request(title: str) -> web.HTTPException:
    return v2(400, "INVALID_REQUEST_PARAMETER", title)


def v2_wrong_type(name: str, value: Any, expected: str) -> web.HTTPException:
    return v2_bad_request(
        f"Provided value {{{value}}} for '{name}' is not the correct type. "
        f"Expected type is {expected}"
    )


def v2_not_found(title: str = "Not Found") -> web.HTTPException:
    return v2(404, "NOT_FOUND", title)


def jira(
    status: int, messages: list[str] | None = None, errors: Mapping[str, str] | None = None
) -> web.HTTPException:
    return json_error(status, {"errorMessages": messages or [], "errors": dict(errors or {})})
