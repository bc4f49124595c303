"""Capabilities handed to browsers (link tokens, OAuth state, the browser cookie) and their hashes.

Each is 256 bits from the OS CSPRNG. Only a SHA-256 hash is stored, so a database reader cannot
replay them; lookups hash what the browser presents.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

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
