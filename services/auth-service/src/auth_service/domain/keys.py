"""Parsing TOKEN_ENCRYPTION_KEYS: `kid:base64-32-bytes[,kid:...]`; the first key encrypts."""

from __future__ import annotations

import base64
import binascii
import re

KEY_BYTES = 32
KID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse_keyring(raw: str) -> list[tuple[str, bytes]]:
    """The keys in order. Raises ValueError naming what is wrong, never the key material."""
    keys: list[tuple[str, bytes]] = []
    for position, item in enumerate(raw.split(","), start=1):
        kid, sep, encoded = item.strip().partition(":")
        if not sep or not KID_PATTERN.match(kid):
            raise ValueError(f"key {position} must look like kid:base64 (kid of [A-Za-z0-9_-])")
        try:
            material = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"key {kid!r} is not valid base64") from None
        if len(material) != KEY_BYTES:
            raise ValueError(f"key {kid!r} must decode to {KEY_BYTES} bytes")
        if any(existing == kid for existing, _ in keys):
            raise ValueError(f"key id {kid!r} appears twice")
        keys.append((kid, material))
    return keys
