"""Credential metadata, deletion, and the reactions to integration events (contract §4).

Destroying a credential erases its sealed tokens from the document (not only a flag), marks it
revoked, bumps its version (so an in-flight refresh's compare-and-set loses) and publishes
credential.revoked.
"""

from __future__ import annotations

from typing import Any

from auth_service.adapters.collections import CREDENTIALS, USAGE
from auth_service.domain.credentials import subject_from
from auth_service.service_layer.context import Context
from auth_service.service_layer.errors import CredentialNotFound
from platform_core.contract_types import utc_now
from platform_core.events import CredentialRevoked, IntegrationConfigured, IntegrationRemoved
from platform_core.mongo import Document
from platform_core.unit_of_work import Transaction

METADATA = {"access_token": 0, "refresh_token": 0}


async def list_credentials(
    ctx: Context,
    app_id: str,
    *,
    integration: str | None,
    user_id: str | None,
    limit: int,
    after: str | None,
) -> list[Document]:
    query: dict[str, Any] = {"app_id": app_id}
    if integration:
        query["integration"] = integration
    if user_id:
        query["subject_key"] = f"user:{user_id}"
    if after:
        query["_id"] = {"$gt": after}
    cursor = ctx.db[CREDENTIALS].find(query, METADATA).sort("_id", 1).limit(limit)
    return [doc async for doc in cursor]


async def revoke(tx: Transaction, doc: Document, reason: str) -> None:
    await tx.db[CREDENTIALS].update_one(
        {"_id": doc["_id"]},
        {
            "$set": {"status": "revoked", "revoked_at": utc_now(), "version": doc["version"] + 1},
            "$unset": {"access_token": "", "refresh_token": ""},
        },
        session=tx.session,
    )
    tx.publish(
        CredentialRevoked(
            credential_id=doc["_id"],
            app_id=doc["app_id"],
            integration=doc["integration"],
            subject=subject_from(doc["subject"]),
            reason=reason,
        )
    )


async def delete_credential(ctx: Context, app_id: str, credential_id: str) -> None:
    async def work(tx: Transaction) -> None:
        doc = await tx.db[CREDENTIALS].find_one(
            {"_id": credential_id, "app_id": app_id, "status": {"$ne": "revoked"}},
            METADATA,
            session=tx.session,
        )
        if doc is None:
            raise CredentialNotFound(f"No credential {credential_id!r} in this app")
        await revoke(tx, doc, "deleted")

    await ctx.uow.run(work)


async def _revoke_matching(tx: Transaction, query: dict[str, Any], reason: str) -> None:
    live = {**query, "status": {"$ne": "revoked"}}
    async for doc in tx.db[CREDENTIALS].find(live, METADATA, session=tx.session):
        await revoke(tx, doc, reason)


async def on_integration_removed(tx: Transaction, data: IntegrationRemoved) -> None:
    await _revoke_matching(
        tx, {"app_id": data.app_id, "integration": data.integration}, "integration_removed"
    )
    await tx.db[USAGE].delete_one({"_id": f"{data.app_id}|{data.integration}"}, session=tx.session)


async def on_integration_configured(tx: Transaction, data: IntegrationConfigured) -> None:
    profile = data.profile
    profile_id = getattr(profile, "profile_id", None)
    await tx.db[USAGE].replace_one(
        {"_id": f"{data.app_id}|{data.integration}"},
        {"app_id": data.app_id, "integration": data.integration, "profile_id": profile_id},
        upsert=True,
        session=tx.session,
    )
    if data.authorization_type == "user_authorize":
        await _revoke_matching(
            tx,
            {"app_id": data.app_id, "integration": data.integration, "subject_key": "app"},
            "switched_to_user_authorize",
        )
