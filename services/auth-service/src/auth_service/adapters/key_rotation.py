"""Key rotation: re-encrypt every sealed field under the first key of TOKEN_ENCRYPTION_KEYS.

Storage maintenance of the vault's own ciphertexts, so it lives with the adapters: no domain
rule is involved (the tokens do not change).

Runs beside a serving service. Each write is a compare-and-set on the exact ciphertext it
replaces (and, for credentials, on `version`), so a refresh that wrote meanwhile is never
overwritten; a lost race is read again and retried. It does not bump `version`: re-encryption
changes no token, so it must not make a concurrent refresh lose.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from auth_service.adapters.repositories import SEALED_FIELDS as SEALED
from auth_service.adapters.vault import Vault
from platform_core.mongo import Document

MAX_PASSES = 20


def _stale_query(vault: Vault, fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        "$or": [{f"{field}.kid": {"$exists": True, "$ne": vault.current_kid}} for field in fields]
    }


async def _reseal_one(
    db: AsyncDatabase[Document], collection: str, vault: Vault, doc: Document
) -> bool:
    fields = SEALED[collection]
    condition: dict[str, Any] = {"_id": doc["_id"]}
    changes: dict[str, Any] = {}
    for field in fields:
        sealed = doc.get(field)
        if isinstance(sealed, dict) and not vault.is_current(sealed):
            condition[f"{field}.ciphertext"] = sealed["ciphertext"]
            changes[field] = vault.reseal(sealed, doc["_id"], field)
    if "version" in doc:
        condition["version"] = doc["version"]
    if not changes:
        return False
    result = await db[collection].update_one(condition, {"$set": changes})
    return result.modified_count == 1


async def rotate_keys(db: AsyncDatabase[Document], vault: Vault) -> dict[str, int]:
    """Re-encrypt until no record uses an old key; returns how many records each collection had
    re-encrypted."""
    counts = dict.fromkeys(SEALED, 0)
    for _ in range(MAX_PASSES):
        remaining = 0
        for collection, fields in SEALED.items():
            async for doc in db[collection].find(_stale_query(vault, fields)):
                if await _reseal_one(db, collection, vault, doc):
                    counts[collection] += 1
                else:
                    remaining += 1
        if remaining == 0:
            return counts
    raise RuntimeError("records kept changing during rotation; run rotate-keys again")
