"""Secrets as values: capabilities handed to browsers, and the secrets the vault keeps.

Capabilities (link tokens, OAuth state, the browser cookie, the site picker's selection) are
256 bits from the OS CSPRNG; only a SHA-256 hash is stored, so a database reader cannot replay
them, and lookups hash what the browser presents.

The confirmation page's form token is derived, not stored: an HMAC-SHA256 (RFC 2104), under a
key derived from a service secret for that one purpose, of the authorization it belongs to and
its link's hash. The same page shown twice carries the same token, so fetching it changes
nothing; the link it spends works once, so the token does too.

`Secret` is how the domain holds a token, a client secret or a PKCE verifier: it never prints
(`repr`, `str`, tracebacks), and `reveal()` is the one way to its value. A secret read from
storage stays sealed until revealed (the adapters' subclass opens it then), so the token fast
path opens exactly the one it hands out.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from abc import ABC, abstractmethod

TOKEN_BYTES = 32  # 256 bits
PKCE_VERIFIER_BYTES = 48  # 64 characters, inside RFC 7636's 43..128


def new_capability() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_pkce_verifier() -> str:
    return secrets.token_urlsafe(PKCE_VERIFIER_BYTES)


def capability_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one purpose only, so a value made with it means nothing anywhere else."""
    return hmac.new(secret.encode(), f"auth-service/{purpose}/v1".encode(), hashlib.sha256).digest()


def form_token(key: bytes, authorization_id: str, link_hash: str) -> str:
    message = f"connect-form\x00{authorization_id}\x00{link_hash}".encode()
    digest = hmac.new(key, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def same_form_token(key: bytes, authorization_id: str, link_hash: str, presented: str) -> bool:
    expected = form_token(key, authorization_id, link_hash).encode()
    return hmac.compare_digest(expected, presented.encode(errors="replace"))


def same_hash(presented: str | None, stored: str | None) -> bool:
    if not presented or not stored:
        return False
    return hmac.compare_digest(capability_hash(presented), stored)


class Secret(ABC):
    __slots__ = ()

    @abstractmethod
    def reveal(self) -> str:
        """The value; raises the storage's error when a sealed one cannot be opened."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(***)"

    __str__ = __repr__

    @staticmethod
    def of(value: str) -> Secret:
        return PlainSecret(value)


class PlainSecret(Secret):
    """A secret just received (from a provider, a request body): not sealed yet."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value
