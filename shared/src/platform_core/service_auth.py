"""Service-to-service authentication: the HS256 JWTs of contract §0.

`verify_token` turns a bearer token into a `Caller` or raises `Unauthenticated` (also when the
token names audiences and this service is not one of them); `TokenVerifier` is the same for one
service, remembering the tokens it has verified. Routes then ask the caller for a scope
(`require_scope`) and an app (`require_app`), which raise `Forbidden`. `mint_token` is the one
way callers and tests make such tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

import jwt

from platform_core.errors import Forbidden, Unauthenticated

ALGORITHM = "HS256"
CLOCK_LEEWAY_SECONDS = 30


class Scope(StrEnum):
    READ = "integrations:read"
    WRITE = "integrations:write"
    ISSUE_TOKENS = "tokens:issue"
    RUN_ACTIONS = "actions:run"


@dataclass(frozen=True)
class Caller:
    subject: str
    scopes: frozenset[str]
    app_ids: frozenset[str] | None
    user_id: str | None = None

    def require_scope(self, scope: Scope) -> None:
        if scope.value not in self.scopes:
            raise Forbidden(f"This call needs the scope {scope.value}")

    def require_app(self, app_id: str) -> None:
        if self.app_ids is not None and app_id not in self.app_ids:
            raise Forbidden("This token may not act on that app")


def verify_token(token: str, secret: str, audience: str | None = None) -> Caller:
    """The token's caller; with `audience`, a token naming other audiences only is refused."""
    return _verified(token, secret, audience)[0]


class TokenVerifier:
    """`verify_token` for one service, remembering up to `capacity` tokens it has verified.

    Callers mint a token and reuse it until it expires, so the signature check and the claims'
    parsing are paid once per token, not once per request. A remembered token is still refused
    once its `exp` (with the leeway) has passed: nothing else about a verified token can change.
    Only tokens that verified are remembered, so a caller without the secret cannot fill it.
    """

    def __init__(
        self,
        secret: str,
        audience: str | None,
        *,
        capacity: int = 4096,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret, self._audience = secret, audience
        self._capacity, self._clock = capacity, clock
        self._verified: dict[str, tuple[Caller, float]] = {}

    def __len__(self) -> int:
        return len(self._verified)

    def verify(self, token: str) -> Caller:
        remembered = self._verified.get(token)
        if remembered is not None:
            caller, expires_at = remembered
            if self._clock() <= expires_at + CLOCK_LEEWAY_SECONDS:
                return caller
            del self._verified[token]
            raise Unauthenticated("The token has expired")
        caller, expires_at = _verified(token, self._secret, self._audience)
        if len(self._verified) >= self._capacity:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = (caller, expires_at)
        return caller


def _verified(token: str, secret: str, audience: str | None) -> tuple[Caller, float]:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"], "verify_aud": False},
            leeway=CLOCK_LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is not valid") from None
    if audience is not None:
        _require_audience(claims.get("aud"), audience)
    expires_at = claims["exp"]
    if not isinstance(expires_at, int | float):
        raise Unauthenticated("The token's exp must be a number")
    return _caller_from(claims), float(expires_at)


def _require_audience(aud: object, audience: str) -> None:
    """Contract §0: without `aud` every service accepts the token; with it, only those named."""
    if aud is None:
        return
    named = [aud] if isinstance(aud, str) else aud
    if not isinstance(named, list) or not all(isinstance(a, str) for a in named):
        raise Unauthenticated("The token's aud must be a string or a list of strings")
    if audience not in named:
        raise Unauthenticated("The token is not for this service")


def _caller_from(claims: dict[str, object]) -> Caller:
    subject, scope, app_ids = claims.get("sub"), claims.get("scope", ""), claims.get("app_ids")
    user_id = claims.get("user_id")
    if not isinstance(subject, str) or not isinstance(scope, str):
        raise Unauthenticated("The token's sub and scope must be strings")
    if user_id is not None and not (isinstance(user_id, str) and 0 < len(user_id) <= 255):
        raise Unauthenticated("The token's user_id must be a string")
    if app_ids is not None and not (
        isinstance(app_ids, list) and all(isinstance(a, str) for a in app_ids)
    ):
        raise Unauthenticated("The token's app_ids must be a list of strings")
    return Caller(
        subject=subject,
        scopes=frozenset(scope.split()),
        app_ids=frozenset(app_ids) if app_ids is not None else None,
        user_id=user_id,
    )


def mint_token(
    secret: str,
    subject: str,
    scopes: Iterable[Scope | str],
    *,
    app_ids: Iterable[str] | None = None,
    ttl_seconds: int = 300,
    audience: Iterable[str] | None = None,
    user_id: str | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": subject,
        "scope": " ".join(str(s) for s in scopes),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if app_ids is not None:
        claims["app_ids"] = list(app_ids)
    if audience is not None:
        claims["aud"] = list(audience)
    if user_id is not None:
        claims["user_id"] = user_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
