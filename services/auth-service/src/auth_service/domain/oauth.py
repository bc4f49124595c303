"""OAuth 2.0 protocol rules, pure (RFC 6749, RFC 7636): no transport here.

- the authorization request (§4.1.1) with PKCE S256 (RFC 7636 §4.2) and a provider's extra
  parameters, built with authlib's helpers;
- the token request's form and client authentication (§2.3.1: `client_secret_basic` or
  `client_secret_post`, as the manifest says);
- parsing a token response (§5.1), refusing what is malformed rather than storing it;
- an error response (§5.2, §4.1.2.1) mapped to a fixed set of codes: the provider never chooses
  the code we publish, and its text is kept only truncated.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from auth_service.domain.credential import TokenSet
from auth_service.domain.secrets import Secret

OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "unsupported_response_type",
        "server_error",
        "temporarily_unavailable",
    }
)
OTHER_ERROR = "provider_error"
MAX_DESCRIPTION = 300
MAX_TOKEN_LENGTH = 16_384
MAX_SCOPE_LENGTH = 8_192
MAX_EXPIRES_IN_SECONDS = 10 * 365 * 24 * 3600
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class MalformedTokenResponse(ValueError):
    """A token endpoint's 2xx answer that is not a usable token response."""


def authorization_url(
    endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: Sequence[str],
    state: str,
    extra: Mapping[str, str],
    code_verifier: str | None,
) -> str:
    params = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("scope", " ".join(scopes)),
        ("state", state),
        *extra.items(),
    ]
    if code_verifier is not None:
        params += [
            ("code_challenge", create_s256_code_challenge(code_verifier)),
            ("code_challenge_method", "S256"),
        ]
    return str(add_params_to_uri(endpoint, params))


def token_request(
    form: dict[str, str],
    *,
    client_id: str,
    client_secret: Secret,
    method: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """The form and headers of a token request, with the client authenticated as `method`."""
    headers = {"Accept": "application/json"}
    if method == "client_secret_post":
        return {**form, "client_id": client_id, "client_secret": client_secret.reveal()}, headers
    # RFC 6749 §2.3.1: both parts form-urlencoded before being joined and base64-encoded.
    pair = f"{quote(client_id, safe='')}:{quote(client_secret.reveal(), safe='')}"
    headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    return form, headers


def parse_token_response(
    body: Mapping[str, Any], now: datetime, requested: tuple[str, ...]
) -> TokenSet:
    """The tokens of a successful answer; the requested scopes when it names none (§5.1)."""
    access = body.get("access_token")
    if not isinstance(access, str) or not 0 < len(access) <= MAX_TOKEN_LENGTH:
        raise MalformedTokenResponse("no usable access_token")
    token_type = body.get("token_type", "Bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise MalformedTokenResponse("the token type is not Bearer")
    refresh = body.get("refresh_token")
    if refresh is not None and (
        not isinstance(refresh, str) or not 0 < len(refresh) <= MAX_TOKEN_LENGTH
    ):
        raise MalformedTokenResponse("the refresh_token is not a usable string")
    return TokenSet(
        access_token=Secret.of(access),
        refresh_token=Secret.of(refresh) if refresh else None,
        expires_at=_expiry(body.get("expires_in"), now),
        scopes=_scopes(body.get("scope"), requested),
    )


def _expiry(value: object, now: datetime) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedTokenResponse("expires_in is not a number")
    if isinstance(value, str) and not re.fullmatch(r"\d{1,12}", value):
        raise MalformedTokenResponse("expires_in is not a number")
    seconds = float(value)
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_EXPIRES_IN_SECONDS:
        raise MalformedTokenResponse("expires_in is out of range")
    return now + timedelta(seconds=seconds)


def _scopes(value: object, requested: tuple[str, ...]) -> tuple[str, ...]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return requested
    if not isinstance(value, str) or len(value) > MAX_SCOPE_LENGTH:
        raise MalformedTokenResponse("scope is not a space-separated string")
    return tuple(dict.fromkeys(value.split()))


def error_code(value: object) -> str:
    """The provider's `error`, if it is one the protocol defines; else `provider_error`."""
    return value if isinstance(value, str) and value in OAUTH_ERRORS else OTHER_ERROR


def safe_description(value: object) -> str | None:
    """A provider's free text, cut short and stripped of control characters."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _CONTROL.sub(" ", value[:MAX_DESCRIPTION]).strip() or None
