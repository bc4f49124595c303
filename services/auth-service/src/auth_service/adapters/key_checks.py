"""The vault's key check values: one document per key id, so one id never means two keys.

`vault_keys` holds, per key id, a check value sealed under the key first configured with that
id (`Vault.check_value`). At start-up (and before `rotate-keys`) every configured key id is
registered when the database does not know it yet, and verified against the stored value
otherwise; a key that differs from the one stored under its id refuses the start, before
anything is written with it. Two replicas registering the same new id at once race on the
document's `_id`: the loser verifies against the winner's value.
"""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from auth_service.adapters.vault import Vault
from platform_core.contract_types import utc_now
from platform_core.mongo import Document

KEY_CHECKS = "vault_keys"


class KeyMismatch(Exception):
    """A configured key is not the key the database knows under the same id; the message names
    the id, never the key."""


async def verify_keys(db: AsyncDatabase[Document], vault: Vault) -> list[str]:
    """Refuse a key that differs from the one registered under its id, then register the ids
    the database does not know yet. Returns the ids registered now."""
    checks = db[KEY_CHECKS]
    stored = {doc["_id"]: doc async for doc in checks.find({"_id": {"$in": list(vault.kids)}})}
    for kid, doc in stored.items():
        _verify(vault, kid, doc)
    registered = []
    for kid in (k for k in vault.kids if k not in stored):
        try:
            await checks.insert_one(
                {"_id": kid, "check": vault.check_value(kid), "created_at": utc_now()}
            )
        except DuplicateKeyError:  # another replica registered it first: it must be ours
            _verify(vault, kid, await checks.find_one({"_id": kid}))
        else:
            registered.append(kid)
    return registered


def _verify(vault: Vault, kid: str, doc: Document | None) -> None:
    if doc is None or not vault.verifies(kid, doc.get("check") or {}):
        raise KeyMismatch(
            f"TOKEN_ENCRYPTION_KEYS key {kid!r} is not the key this database stores under "
            f"that id (give a new key a new id)"
        )
