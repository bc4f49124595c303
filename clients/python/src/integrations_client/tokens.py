"""Where the client's bearer tokens come from: a token function, asked once per request.

The client tells the function which service the request goes to, the scope its route needs
(contract §0: `integrations:read` for a GET, `integrations:write` for a change, `tokens:issue`
for the access-token call, `actions:run` for starting a run) and the app it touches. A caller
that holds its own tokens passes any such function; `JwtMinter` is the built-in one, minting the
platform's HS256 JWTs with `platform_core.service_auth.mint_token`: one scope, and by default
one audience, per token, so a token that leaks can do only the one kind of call it was for.

The JWT secret is held as a `SecretStr`: no repr, str or `vars()` of a minter shows it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr

from platform_core.service_auth import Scope, mint_token

__all__ = ["MIN_SECRET_BYTES", "JwtMinter", "Scope", "ServiceName", "TokenFunction", "TokenRequest"]

ServiceName = Literal["auth-service", "integration-service", "template-service", "tool-service"]
MIN_SECRET_BYTES = 32  # what every service requires of PLATFORM_JWT_SECRET


@dataclass(frozen=True)
class TokenRequest:
    """What one request needs its token to allow."""

    service: ServiceName
    scope: Scope
    app_id: str | None = None


TokenFunction = Callable[[TokenRequest], str | Awaitable[str]]


class JwtMinter:
    """A token function minting a fresh short-lived JWT per request.

    `app_ids` restricts every token to those apps; `per_app` narrows each token further to the
    one app its request touches (when it touches one). With `audience` (the default) a token
    names only the service it is sent to (`aud`, contract v2).
    """

    __slots__ = ("_secret", "app_ids", "audience", "per_app", "subject", "ttl_seconds")

    def __init__(
        self,
        secret: str,
        *,
        subject: str = "integrations-client",
        app_ids: Iterable[str] | None = None,
        per_app: bool = False,
        audience: bool = True,
        ttl_seconds: int = 300,
    ) -> None:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            # Never say what the secret was, only what it lacks.
            raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self._secret = SecretStr(secret)
        self.subject = subject
        self.app_ids = tuple(app_ids) if app_ids is not None else None
        self.per_app = per_app
        self.audience = audience
        self.ttl_seconds = ttl_seconds

    def app_ids_for(self, request: TokenRequest) -> tuple[str, ...] | None:
        if not self.per_app or request.app_id is None:
            return self.app_ids
        if self.app_ids is not None and request.app_id not in self.app_ids:
            return self.app_ids  # not ours to widen: the service refuses it with 403
        return (request.app_id,)

    def __call__(self, request: TokenRequest) -> str:
        return mint_token(
            self._secret.get_secret_value(),
            self.subject,
            [request.scope],
            app_ids=self.app_ids_for(request),
            ttl_seconds=self.ttl_seconds,
            audience=[request.service] if self.audience else None,
        )

    def __repr__(self) -> str:
        return (
            f"JwtMinter(subject={self.subject!r}, app_ids={self.app_ids!r}, "
            f"per_app={self.per_app!r}, audience={self.audience!r}, "
            f"ttl_seconds={self.ttl_seconds!r})"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the secret out in clear: refuse rather than leak.
        raise TypeError("a JwtMinter holds a secret and cannot be pickled")
