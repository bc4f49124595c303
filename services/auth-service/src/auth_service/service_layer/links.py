"""Authorization links (contract §2): issuing them, reading their status, and the click.

The link token is 256 bits from the CSPRNG, stored as a hash, and works once: the click stores
the OAuth state's hash, the sealed PKCE verifier and the browser cookie's hash on the
authorization, then redirects to the provider with response_type=code, the profile's exact
callback URL, the scopes, the state, the S256 challenge and the provider's extra parameters.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from auth_service.adapters.collections import AUTHORIZATIONS
from auth_service.domain.authorizations import OPEN_STATUSES, effective_status, link_ttl_seconds
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.secrets import capability_hash, new_capability, new_pkce_verifier
from auth_service.domain.urls import allowed_return_url
from auth_service.service_layer import profiles
from auth_service.service_layer.context import Context
from auth_service.service_layer.errors import AuthorizationNotFound, ReturnUrlNotAllowed
from auth_service.service_layer.outcomes import PageError, expire_unclicked, fail_open
from platform_core.contract_types import ProfileRef, Subject, UserSubject, utc_now
from platform_core.errors import ProblemError
from platform_core.events import AuthorizationLinkIssued
from platform_core.logs import get_logger
from platform_core.mongo import Document
from platform_core.unit_of_work import Transaction

log = get_logger("auth_service.dance")
COOKIE_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,64}")


@dataclass(frozen=True)
class Issued:
    authorization_id: str
    authorization_url: str
    expires_at: datetime


@dataclass(frozen=True)
class Redirect:
    url: str
    browser_cookie: str


# --- issuing links ------------------------------------------------------------------------


async def issue(
    ctx: Context,
    *,
    app_id: str,
    integration: str,
    profile: ProfileRef,
    subject: Subject,
    return_url: str | None,
    ttl_seconds: int | None,
    site_hint: str | None = None,
) -> Issued:
    await profiles.resolve_client(ctx, app_id, integration, profile)
    if return_url is not None and not allowed_return_url(
        return_url, ctx.settings.return_url_prefixes
    ):
        raise ReturnUrlNotAllowed("return_url does not start with an allowed prefix")
    settings = ctx.settings
    ttl = link_ttl_seconds(
        subject,
        ttl_seconds,
        admin_default=settings.admin_link_ttl_seconds,
        user_default=settings.user_link_ttl_seconds,
        maximum=settings.max_link_ttl_seconds,
    )
    now = utc_now()
    expires_at = now + timedelta(seconds=ttl)
    authorization_id = f"authz_{uuid.uuid4().hex}"
    link_token = new_capability()
    link = f"{settings.public_base_url}/connect/{link_token}"
    doc: Document = {
        "_id": authorization_id,
        "app_id": app_id,
        "integration": integration,
        "profile": profile.model_dump(),
        "subject": subject.model_dump(),
        "return_url": return_url,
        "site_hint": site_hint,
        "status": "pending",
        "link_hash": capability_hash(link_token),
        "expires_at": expires_at,
        "sweep_at": expires_at,
        "clicked_at": None,
        "created_at": now,
        "credential_id": None,
        "error": None,
    }

    async def work(tx: Transaction) -> None:
        await tx.db[AUTHORIZATIONS].insert_one(doc, session=tx.session)
        if isinstance(subject, UserSubject):
            tx.publish(
                AuthorizationLinkIssued(
                    app_id=app_id,
                    integration=integration,
                    user_id=subject.user_id,
                    link=link,
                    expires_at=expires_at,
                )
            )

    await ctx.uow.run(work)
    log.info("authorization_issued", authorization_id=authorization_id, app_id=app_id)
    return Issued(authorization_id, link, expires_at)


async def get(ctx: Context, authorization_id: str) -> Document:
    doc = await ctx.db[AUTHORIZATIONS].find_one(
        {"_id": authorization_id},
        {
            "app_id": 1,
            "status": 1,
            "expires_at": 1,
            "clicked_at": 1,
            "credential_id": 1,
            "error": 1,
        },
    )
    if doc is None:
        raise AuthorizationNotFound(f"No authorization {authorization_id!r}")
    doc["status"] = effective_status(
        doc["status"], doc["expires_at"], doc["clicked_at"] is not None, utc_now()
    )
    return doc


# --- the click ----------------------------------------------------------------------------


async def start(ctx: Context, link_token: str, browser_cookie: str | None) -> Redirect:
    collection = ctx.db[AUTHORIZATIONS]
    doc = await collection.find_one({"link_hash": capability_hash(link_token)})
    if doc is None:
        raise PageError(404, "Link not found", "This authorization link is not valid.", "not_found")
    now = utc_now()
    if doc["clicked_at"] is not None or doc["status"] != "pending":
        raise PageError(410, "Link already used", "Ask for a new link to connect.", "link_used")
    if now >= doc["expires_at"]:
        await expire_unclicked(ctx, doc)
        raise PageError(410, "Link expired", "Ask for a new link to connect.", "expired")
    try:
        client = await client_for(ctx, doc)
    except ProblemError as exc:
        await fail_open(ctx, doc, exc.code, exc.detail)
        raise PageError(400, "Cannot connect", exc.detail, exc.code) from None
    state, verifier = new_capability(), new_pkce_verifier()
    cookie = browser_cookie if _plausible_cookie(browser_cookie) else new_capability()
    assert cookie is not None
    state_expires = now + timedelta(seconds=ctx.settings.state_ttl_seconds)
    changes: dict[str, Any] = {
        "clicked_at": now,
        "state_hash": capability_hash(state),
        "state_used": False,
        "state_expires_at": state_expires,
        "sweep_at": state_expires,
        "browser_hash": capability_hash(cookie),
    }
    if client.pkce:
        changes["code_verifier"] = ctx.vault.seal(verifier, doc["_id"], "code_verifier")
    result = await collection.update_one(
        {"_id": doc["_id"], "status": "pending", "clicked_at": None}, {"$set": changes}
    )
    if result.modified_count != 1:
        raise PageError(410, "Link already used", "Ask for a new link to connect.", "link_used")
    params = [
        ("response_type", "code"),
        ("client_id", client.client_id),
        ("redirect_uri", client.callback_url),
        ("scope", " ".join(client.scopes)),
        ("state", state),
        *client.authorization_params.items(),
    ]
    if client.pkce:
        params += [
            ("code_challenge", create_s256_code_challenge(verifier)),
            ("code_challenge_method", "S256"),
        ]
    return Redirect(str(add_params_to_uri(client.authorization_url, params)), cookie)


def _plausible_cookie(value: str | None) -> bool:
    """A cookie this service could have set (reused so parallel dances share one browser id)."""
    return value is not None and COOKIE_SHAPE.fullmatch(value) is not None


async def client_for(ctx: Context, doc: Document) -> OAuthClient:
    ref = profiles.profile_ref(doc["profile"])
    return await profiles.resolve_client(ctx, doc["app_id"], doc["integration"], ref)


async def sweep_stale(ctx: Context, limit: int = 100) -> int:
    """End dances nobody finished: unclicked expired links, abandoned states and site pickers."""
    now = utc_now()
    cursor = (
        ctx.db[AUTHORIZATIONS]
        .find({"status": {"$in": list(OPEN_STATUSES)}, "sweep_at": {"$lte": now}})
        .limit(limit)
    )
    ended = 0
    async for doc in cursor:
        if doc["clicked_at"] is None:
            await expire_unclicked(ctx, doc)
        elif doc["status"] == "site_selection_required":
            await fail_open(ctx, doc, "site_selection_abandoned", "No site was chosen in time.")
        else:
            await fail_open(ctx, doc, "expired", "The sign-in was not finished in time.")
        ended += 1
    return ended
