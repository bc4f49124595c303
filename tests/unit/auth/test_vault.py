"""The vault's AES-256-GCM sealing: fresh nonces, key ids, record binding, rotation."""

from __future__ import annotations

import base64

import pytest

from auth_service.adapters.vault import Vault, VaultError
from auth_service.domain.keys import parse_keyring

OLD = "old:" + base64.b64encode(b"o" * 32).decode()
NEW = "new:" + base64.b64encode(b"n" * 32).decode()


def test_a_sealed_value_opens_for_its_record_and_field() -> None:
    vault = Vault.from_setting(OLD)
    sealed = vault.seal("refresh-abc", "cred_1", "refresh_token")
    assert sealed["kid"] == "old"
    assert b"refresh-abc" not in bytes(sealed["ciphertext"])
    assert vault.open(sealed, "cred_1", "refresh_token") == "refresh-abc"


def test_each_seal_uses_a_fresh_nonce() -> None:
    vault = Vault.from_setting(OLD)
    first = vault.seal("same", "cred_1", "access_token")
    second = vault.seal("same", "cred_1", "access_token")
    assert first["nonce"] != second["nonce"]
    assert first["ciphertext"] != second["ciphertext"]


@pytest.mark.parametrize(
    ("record", "field"), [("cred_2", "refresh_token"), ("cred_1", "access_token")]
)
def test_a_ciphertext_moved_to_another_record_or_field_does_not_open(
    record: str, field: str
) -> None:
    vault = Vault.from_setting(OLD)
    sealed = vault.seal("refresh-abc", "cred_1", "refresh_token")
    with pytest.raises(VaultError):
        vault.open(sealed, record, field)


def test_a_tampered_ciphertext_does_not_open() -> None:
    vault = Vault.from_setting(OLD)
    sealed = vault.seal("refresh-abc", "cred_1", "refresh_token")
    flipped = bytearray(sealed["ciphertext"])
    flipped[0] ^= 1
    with pytest.raises(VaultError):
        vault.open({**sealed, "ciphertext": bytes(flipped)}, "cred_1", "refresh_token")


def test_the_first_key_encrypts_and_every_key_decrypts() -> None:
    old_sealed = Vault.from_setting(OLD).seal("t", "r", "f")
    rotated = Vault.from_setting(f"{NEW},{OLD}")
    assert rotated.open(old_sealed, "r", "f") == "t"
    assert not rotated.is_current(old_sealed)
    resealed = rotated.reseal(old_sealed, "r", "f")
    assert resealed["kid"] == "new" and rotated.is_current(resealed)
    with pytest.raises(VaultError):
        Vault.from_setting(NEW).open(old_sealed, "r", "f")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "nokid",
        "k1:not-base64!",
        "k1:" + base64.b64encode(b"short").decode(),
        f"{OLD},{OLD}",
        "bad kid:" + base64.b64encode(b"x" * 32).decode(),
    ],
)
def test_malformed_key_settings_are_refused_without_echoing_the_key(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^(?!.*[A-Za-z0-9+/]{40})"):
        parse_keyring(raw)
