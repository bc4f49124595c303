"""How a browser dance ends: a credential stored (replacing the subject's previous one), or
the authorization failed or expired, each published in the same transaction.

Every failure after the state is consumed marks the authorization failed, erases whatever it
held (PKCE verifier, tokens awaiting a site choice), stores no credential and publishes
authorization.failed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

from auth_service.adapters.collections import AUTHORIZATIONS, CREDENTIALS
from auth_service.domain.authorizations import OPEN_STATUSES, Site
from auth_service.domain.credentials import TokenSet, subject_from, subject_key
from auth_service.service_layer.context import Context
from platform_core.contract_types import SiteResource, utc_now
from platform_core.events import AuthorizationCompleted, AuthorizationFailed
from platform_core.logs import get_logger
from platform_core.mongo import Document
from platform_core.unit_of_work import Transaction

log = get_logger("auth_service.dance")


class PageError(Exception):
    """A failure a person sees as an HTML page."""

    def __init__(self, status: int, title: str, message: str, code: str) -> None:
        super().__init__(code)
        self.status, self.title, self.message, self.code = status, title, message, code


@dataclass(frozen=True)
class Completed:
    authorization_id: str
    display_name: str
    site: Site | None
    return_url: str | None


@dataclass(frozen=True)
class SiteChoice:
    authorization_id: str
    display_name: str
    sites: list[Site]
    selection: str


ERASE_PENDING = {
    "code_verifier": "",
    "pending_access_token": "",
    "pending_refresh_token": "",
    "pending_expires_at": "",
    "pending_scopes": "",
}


async def complete(ctx: Context, doc: Document, tokens: TokenSet, site: Site | None) -> Completed:
    subject = subject_from(doc["subject"])
    key = subject_key(subject)
    spec = ctx.provider(doc["integration"])
    resource = None
    if site is not None:
        resource = SiteResource(
            cloud_id=site.cloud_id, site_url=site.url, api_base_url=spec.api_base_for(site.cloud_id)
        )

    async def work(tx: Transaction) -> None:
        credentials = tx.db[CREDENTIALS]
        existing = await credentials.find_one(
            {"app_id": doc["app_id"], "integration": doc["integration"], "subject_key": key},
            {"_id": 1, "version": 1, "created_at": 1},
            session=tx.session,
        )
        # One credential per app + integration + subject: a new consent replaces the old one,
        # keeping its id, so consumers that know the id see it become active again.
        credential_id = existing["_id"] if existing else f"cred_{uuid.uuid4().hex}"
        now = utc_now()
        record = credential_document(
            ctx,
            credential_id,
            doc,
            key,
            tokens,
            site,
            version=(existing["version"] + 1) if existing else 1,
            created_at=existing["created_at"] if existing else now,
        )
        await credentials.replace_one(
            {"_id": credential_id}, record, upsert=True, session=tx.session
        )
        updated = await tx.db[AUTHORIZATIONS].update_one(
            {"_id": doc["_id"], "status": {"$in": list(OPEN_STATUSES)}},
            {
                "$set": {
                    "status": "completed",
                    "credential_id": credential_id,
                    "completed_at": now,
                },
                "$unset": ERASE_PENDING,
            },
            session=tx.session,
        )
        if updated.modified_count != 1:
            raise PageError(400, "Already finished", "This sign-in already ended.", "state_used")
        tx.publish(
            AuthorizationCompleted(
                authorization_id=doc["_id"],
                app_id=doc["app_id"],
                integration=doc["integration"],
                subject=subject,
                credential_id=credential_id,
                profile=doc["profile"],
                scopes=list(tokens.scopes),
                resource=resource,
            )
        )

    await ctx.uow.run(work)
    log.info("authorization_completed", authorization_id=doc["_id"], app_id=doc["app_id"])
    return Completed(doc["_id"], spec.display_name, site, doc.get("return_url"))


def credential_document(
    ctx: Context,
    credential_id: str,
    authorization: Document,
    key: str,
    tokens: TokenSet,
    site: Site | None,
    *,
    version: int,
    created_at: Any,
) -> Document:
    now = utc_now()
    vault = ctx.vault
    return {
        "_id": credential_id,
        "app_id": authorization["app_id"],
        "integration": authorization["integration"],
        "subject": authorization["subject"],
        "subject_key": key,
        "profile": authorization["profile"],
        "authorization_id": authorization["_id"],
        "status": "active",
        "scopes": list(tokens.scopes),
        "resource": {"cloud_id": site.cloud_id, "site_url": site.url} if site else None,
        "access_token": vault.seal(tokens.access_token, credential_id, "access_token"),
        "refresh_token": (
            vault.seal(tokens.refresh_token, credential_id, "refresh_token")
            if tokens.refresh_token
            else None
        ),
        "expires_at": tokens.expires_at,
        "last_refreshed_at": None,
        "tokens_obtained_at": now,
        "created_at": created_at,
        "updated_at": now,
        "version": version,
    }


async def fail_and_raise(ctx: Context, doc: Document, code: str, description: str) -> NoReturn:
    await fail_open(ctx, doc, code, description)
    raise PageError(400, "Connection failed", description, code)


async def fail_open(ctx: Context, doc: Document, code: str, description: str) -> bool:
    """Mark an open authorization failed (once) and publish authorization.failed."""

    async def work(tx: Transaction) -> bool:
        result = await tx.db[AUTHORIZATIONS].update_one(
            {"_id": doc["_id"], "status": {"$in": list(OPEN_STATUSES)}},
            {
                "$set": {
                    "status": "failed",
                    "error": {"code": code, "description": description},
                    "failed_at": utc_now(),
                },
                "$unset": ERASE_PENDING,
            },
            session=tx.session,
        )
        if result.modified_count != 1:
            return False
        tx.publish(
            AuthorizationFailed(
                authorization_id=doc["_id"],
                app_id=doc["app_id"],
                integration=doc["integration"],
                subject=subject_from(doc["subject"]),
                error=code,
                error_description=description,
            )
        )
        return True

    failed = await ctx.uow.run(work)
    if failed:
        log.info("authorization_failed", authorization_id=doc["_id"], error=code)
    return failed


async def expire_unclicked(ctx: Context, doc: Document) -> None:
    async def work(tx: Transaction) -> None:
        result = await tx.db[AUTHORIZATIONS].update_one(
            {"_id": doc["_id"], "status": "pending", "clicked_at": None},
            {"$set": {"status": "expired", "error": {"code": "expired", "description": None}}},
            session=tx.session,
        )
        if result.modified_count == 1:
            tx.publish(
                AuthorizationFailed(
                    authorization_id=doc["_id"],
                    app_id=doc["app_id"],
                    integration=doc["integration"],
                    subject=subject_from(doc["subject"]),
                    error="expired",
                    error_description="The authorization link expired before it was used.",
                )
            )

    await ctx.uow.run(work)
