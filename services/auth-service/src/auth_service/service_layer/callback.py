"""The callback and the site choice (RFC 6749 §4.1.2-4.1.3, RFC 7636, contract §2).

The state is consumed atomically by the first callback that presents it, whatever happens next;
only then are the browser cookie, the state's age and the provider's answer checked, and the
code exchanged. Atlassian's post-connection hook lists the reachable sites: one binds, several
bind only the one matching the hint, otherwise the user picks on a page that posts back here.
Failures before the state is consumed (no state, unknown or used state) concern no
authorization and publish nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pymongo import ReturnDocument

from auth_service.adapters.collections import AUTHORIZATIONS
from auth_service.adapters.provider_client import OAuthError, ProviderUnavailable
from auth_service.domain.authorizations import NoSites, Site, bind_site
from auth_service.domain.credentials import TokenSet
from auth_service.domain.profiles import OAuthClient
from auth_service.domain.secrets import capability_hash, new_capability, same_hash
from auth_service.service_layer.context import Context
from auth_service.service_layer.links import client_for
from auth_service.service_layer.outcomes import (
    Completed,
    PageError,
    SiteChoice,
    complete,
    fail_and_raise,
)
from platform_core.contract_types import utc_now
from platform_core.errors import ProblemError
from platform_core.mongo import Document

# --- the callback -------------------------------------------------------------------------


async def callback(
    ctx: Context, query: dict[str, str], browser_cookie: str | None
) -> Completed | SiteChoice:
    state = query.get("state")
    if not state:
        raise PageError(
            400, "Missing state", "The identity provider sent no state.", "missing_state"
        )
    collection = ctx.db[AUTHORIZATIONS]
    state_hash = capability_hash(state)
    doc = await collection.find_one_and_update(
        {"state_hash": state_hash, "state_used": False},
        {"$set": {"state_used": True, "state_used_at": utc_now()}},
        return_document=ReturnDocument.BEFORE,
    )
    if doc is None:
        if await collection.find_one({"state_hash": state_hash}, {"_id": 1}):
            raise PageError(
                400, "Already used", "This sign-in was already completed or refused.", "state_used"
            )
        raise PageError(400, "Unknown sign-in", "This sign-in is not known.", "unknown_state")
    if doc["status"] != "pending":
        raise PageError(400, "Already finished", "This sign-in already ended.", "state_used")
    if not same_hash(browser_cookie, doc.get("browser_hash")):
        await fail_and_raise(
            ctx, doc, "browser_mismatch", "The sign-in was started in another browser."
        )
    if utc_now() >= doc["state_expires_at"]:
        await fail_and_raise(ctx, doc, "expired", "The sign-in took too long.")
    if query.get("error"):
        description = query.get("error_description") or "The identity provider refused."
        await fail_and_raise(ctx, doc, query["error"][:64], description[:500])
    code = query.get("code")
    if not code:
        await fail_and_raise(ctx, doc, "invalid_request", "The provider sent no code.")
    try:
        client = await client_for(ctx, doc)
    except ProblemError as exc:
        await fail_and_raise(ctx, doc, exc.code, exc.detail)
    verifier = None
    if "code_verifier" in doc:
        verifier = ctx.vault.open(doc["code_verifier"], doc["_id"], "code_verifier")
    try:
        tokens = await ctx.provider_client.exchange_code(client, code, verifier)
    except OAuthError as exc:
        await fail_and_raise(ctx, doc, exc.error, exc.description or "The code was refused.")
    except ProviderUnavailable:
        await fail_and_raise(ctx, doc, "provider_unavailable", "The provider did not answer.")
    return await _bind(ctx, doc, client, tokens)


async def _bind(
    ctx: Context, doc: Document, client: OAuthClient, tokens: TokenSet
) -> Completed | SiteChoice:
    hook = client.post_connection
    if hook is None:
        return await complete(ctx, doc, tokens, None)
    try:
        sites = await ctx.provider_client.accessible_sites(hook.url, tokens.access_token)
        site = bind_site(sites, doc.get("site_hint"))
    except ProviderUnavailable:
        await fail_and_raise(ctx, doc, "site_lookup_failed", "Could not list your sites.")
    except NoSites:
        await fail_and_raise(ctx, doc, "no_accessible_resources", "This account reaches no site.")
    if site is not None:
        return await complete(ctx, doc, tokens, site)
    return await _ask_for_site(ctx, doc, tokens, sites)


async def _ask_for_site(
    ctx: Context, doc: Document, tokens: TokenSet, sites: list[Site]
) -> SiteChoice:
    selection = new_capability()
    vault, record = ctx.vault, doc["_id"]
    expires = utc_now() + timedelta(seconds=ctx.settings.state_ttl_seconds)
    changes: dict[str, Any] = {
        "status": "site_selection_required",
        "selection_hash": capability_hash(selection),
        "selection_expires_at": expires,
        "sweep_at": expires,
        "sites": [vars(site) for site in sites],
        "pending_access_token": vault.seal(tokens.access_token, record, "pending_access_token"),
        "pending_expires_at": tokens.expires_at,
        "pending_scopes": list(tokens.scopes),
    }
    if tokens.refresh_token:
        changes["pending_refresh_token"] = vault.seal(
            tokens.refresh_token, record, "pending_refresh_token"
        )
    await ctx.db[AUTHORIZATIONS].update_one(
        {"_id": record, "status": "pending"}, {"$set": changes, "$unset": {"code_verifier": ""}}
    )
    return SiteChoice(record, ctx.provider(doc["integration"]).display_name, sites, selection)


async def choose_site(
    ctx: Context, selection: str, cloud_id: str | None, browser_cookie: str | None
) -> Completed:
    """The picker's form: a cloud id, or none to cancel (site_selection_abandoned)."""
    doc = await ctx.db[AUTHORIZATIONS].find_one_and_update(
        {"selection_hash": capability_hash(selection), "status": "site_selection_required"},
        {"$set": {"selection_hash": None, "selection_used_hash": capability_hash(selection)}},
        return_document=ReturnDocument.BEFORE,
    )
    if doc is None:
        raise PageError(400, "Already chosen", "This choice was already made.", "selection_used")
    if not same_hash(browser_cookie, doc.get("browser_hash")):
        await fail_and_raise(
            ctx, doc, "browser_mismatch", "The sign-in was started in another browser."
        )
    if utc_now() >= doc["selection_expires_at"]:
        await fail_and_raise(ctx, doc, "expired", "The site choice took too long.")
    if not cloud_id:
        await fail_and_raise(ctx, doc, "site_selection_abandoned", "No site was chosen.")
    chosen = [Site(**raw) for raw in doc["sites"] if raw["cloud_id"] == cloud_id]
    if not chosen:
        await fail_and_raise(ctx, doc, "invalid_site", "That site was not offered.")
    vault, record = ctx.vault, doc["_id"]
    refresh = doc.get("pending_refresh_token")
    tokens = TokenSet(
        access_token=vault.open(doc["pending_access_token"], record, "pending_access_token"),
        refresh_token=vault.open(refresh, record, "pending_refresh_token") if refresh else None,
        expires_at=doc.get("pending_expires_at"),
        scopes=tuple(doc.get("pending_scopes") or ()),
    )
    return await complete(ctx, doc, tokens, chosen[0])
