"""The vault: AES-256-GCM for every stored secret (tokens, client secrets, PKCE verifiers).

Each encryption uses a fresh 96-bit nonce and the first key of TOKEN_ENCRYPTION_KEYS; the key id
is stored beside the ciphertext so any configured key can decrypt. The associated data binds a
ciphertext to its record and field (`<record id>|<field>`): moved to another record or field,
it no longer decrypts.

Repositories keep secrets as `SealedSecret`s: what was read stays encrypted until `reveal()`,
and saving one that is unchanged keeps its ciphertext instead of encrypting it again.

A key id's check value is a constant sealed under that key (associated data `<kid>|key_check`):
it opens only with the very key that made it, and says nothing about the key otherwise.
"""

from __future__ import annotations

import os
from typing import Any

from bson import Binary
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auth_service.domain.errors import Undecryptable
from auth_service.domain.keys import parse_keyring
from auth_service.domain.secrets import Secret

NONCE_BYTES = 12
CHECK_PLAINTEXT = "auth-service vault key check"

Sealed = dict[str, Any]  # {"kid": str, "nonce": bytes, "ciphertext": bytes}


class VaultError(Exception):
    """A ciphertext that cannot be opened: unknown key id, wrong record, or tampered."""


class Vault:
    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ValueError("the vault needs at least one key")
        self._ciphers = {kid: AESGCM(material) for kid, material in keys}
        self.current_kid = keys[0][0]

    @classmethod
    def from_setting(cls, raw: str) -> Vault:
        return cls(parse_keyring(raw))

    @property
    def kids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    def seal(self, plaintext: str, record_id: str, field: str) -> Sealed:
        return self._seal_with(self.current_kid, plaintext, record_id, field)

    def _seal_with(self, kid: str, plaintext: str, record_id: str, field: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = self._ciphers[kid].encrypt(nonce, plaintext.encode(), _aad(record_id, field))
        return {"kid": kid, "nonce": Binary(nonce), "ciphertext": Binary(ciphertext)}

    def check_value(self, kid: str) -> Sealed:
        """What proves, later, that a key under `kid` is this very key."""
        return self._seal_with(kid, CHECK_PLAINTEXT, kid, "key_check")

    def verifies(self, kid: str, check: Sealed) -> bool:
        """Whether the configured key for `kid` is the one that made `check`."""
        if check.get("kid") != kid:
            return False
        try:
            return self.open(check, kid, "key_check") == CHECK_PLAINTEXT
        except (VaultError, UnicodeDecodeError):
            return False

    def open(self, sealed: Sealed, record_id: str, field: str) -> str:
        cipher = self._ciphers.get(str(sealed.get("kid")))
        if cipher is None:
            raise VaultError(f"no key {sealed.get('kid')!r} to decrypt {field}")
        try:
            plain = cipher.decrypt(
                bytes(sealed["nonce"]), bytes(sealed["ciphertext"]), _aad(record_id, field)
            )
        except (InvalidTag, KeyError, TypeError):
            raise VaultError(f"{field} of this record cannot be decrypted") from None
        return plain.decode()

    def is_current(self, sealed: Sealed | None) -> bool:
        return sealed is None or sealed.get("kid") == self.current_kid

    def reseal(self, sealed: Sealed, record_id: str, field: str) -> Sealed:
        return self.seal(self.open(sealed, record_id, field), record_id, field)

    def secret(self, sealed: Sealed | None, record_id: str, field: str) -> Secret | None:
        """A stored field as a secret that opens on demand."""
        return SealedSecret(self, sealed, record_id, field) if sealed else None

    def store(self, secret: Secret | None, record_id: str, field: str) -> Sealed | None:
        """A secret as stored: its ciphertext kept when it is the same sealed field."""
        if secret is None:
            return None
        if isinstance(secret, SealedSecret) and secret.at(record_id, field):
            return secret.sealed
        return self.seal(secret.reveal(), record_id, field)


class SealedSecret(Secret):
    __slots__ = ("_field", "_record", "_vault", "sealed")

    def __init__(self, vault: Vault, sealed: Sealed, record_id: str, field: str) -> None:
        self._vault = vault
        self.sealed = sealed
        self._record = record_id
        self._field = field

    def at(self, record_id: str, field: str) -> bool:
        return (self._record, self._field) == (record_id, field)

    def reveal(self) -> str:
        try:
            return self._vault.open(self.sealed, self._record, self._field)
        except VaultError as exc:
            raise Undecryptable(str(exc)) from None


def _aad(record_id: str, field: str) -> bytes:
    return f"{record_id}|{field}".encode()
