"""Secrets as values: capabilities handed to browsers, and the secrets the vault keeps.

Capabilities (link tokens, OAuth state, the browser cookie, the site picker's selection) are
256 bits from the OS CSPRNG; only a SHA-256 hash is stored, so a database reader cannot replay
them, and lookups hash what the browser presents.

`Secret` is how the domain holds a token, a client secret or a PKCE verifier: it never prints
(`repr`, `str`, tracebacks), and `reveal()` is the one way to its value. A secret read from
storage stays sealed until revealed (the adapters' subclass opens it then), so the token fast
path opens exactly the one it hands out.
"""

from __future__ import annotations

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
