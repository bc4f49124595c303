"""Key rotation: re-encrypt every sealed field under the first key of TOKEN_ENCRYPTION_KEYS.

Storage maintenance of the vault's own ciphertexts, so it lives with the adapters: no domain
rule is involved (the tokens do not change).

Runs beside a serving service. Each write is a compare-and-set on the exact ciphertext it
replaces (and, for credentials, on `version`), so a refresh that wrote meanwhile is never
overwritten; a lost race is read again and retried. It does not bump `version`: re-encryption
changes no token, so it must not make a concurrent refresh lose.

A record no configured key opens (its key removed, the record tampered with) is skipped, not
fatal: it is left as it is, named in the result by collection and id, and every other record
is still rotated. The service marks such a credential `reauthorization_required` when it is
next used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from auth_service.adapters.repositories import SEALED_FIELDS as SEALED
from auth_service.adapters.vault import Vault, VaultError
from platform_core.mongo import Document

MAX_PASSES = 20


class _Outcome(Enum):
    RESEALED = "resealed"
    RACED = "raced"
    UNREADABLE = "unreadable"
    CURRENT = "current"


@dataclass
class Rotation:
    """How many records of each collection were re-encrypted, and which could not be opened."""

    counts: dict[str, int]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (collection, record id)


def _stale_query(vault: Vault, fields: tuple[str, ...], skipped: list[Any]) -> dict[str, Any]:
    query: dict[str, Any] = {
        "$or": [{f"{field}.kid": {"$exists": True, "$ne": vault.current_kid}} for field in fields]
    }
    if skipped:
        query["_id"] = {"$nin": skipped}
    return query


async def _reseal_one(
    db: AsyncDatabase[Document], collection: str, vault: Vault, doc: Document
) -> _Outcome:
    fields = SEALED[collection]
    condition: dict[str, Any] = {"_id": doc["_id"]}
    changes: dict[str, Any] = {}
    for field_name in fields:
        sealed = doc.get(field_name)
        if isinstance(sealed, dict) and not vault.is_current(sealed):
            condition[f"{field_name}.ciphertext"] = sealed.get("ciphertext")
            try:
                changes[field_name] = vault.reseal(sealed, str(doc["_id"]), field_name)
            except VaultError:
                return _Outcome.UNREADABLE
    if "version" in doc:
        condition["version"] = doc["version"]
    if not changes:
        return _Outcome.CURRENT
    result = await db[collection].update_one(condition, {"$set": changes})
    return _Outcome.RESEALED if result.modified_count == 1 else _Outcome.RACED


async def rotate_keys(db: AsyncDatabase[Document], vault: Vault) -> Rotation:
    """Re-encrypt until no record that can be opened uses an old key."""
    rotation = Rotation(counts=dict.fromkeys(SEALED, 0))
    skipped: dict[str, list[Any]] = {collection: [] for collection in SEALED}
    for _ in range(MAX_PASSES):
        raced = 0
        for collection, fields in SEALED.items():
            query = _stale_query(vault, fields, skipped[collection])
            async for doc in db[collection].find(query):
                outcome = await _reseal_one(db, collection, vault, doc)
                if outcome is _Outcome.RESEALED:
                    rotation.counts[collection] += 1
                elif outcome is _Outcome.UNREADABLE:
                    skipped[collection].append(doc["_id"])
                    rotation.unreadable.append((collection, str(doc["_id"])))
                elif outcome is _Outcome.RACED:
                    raced += 1
        if raced == 0:
            return rotation
    raise RuntimeError("records kept changing during rotation; run rotate-keys again")
