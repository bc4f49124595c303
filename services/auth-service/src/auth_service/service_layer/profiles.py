"""Authorization profiles: listing system profiles, managing custom ones, resolving any of them
into the OAuth client the dance and the refresh path use.

A custom profile is "in use" while an (app, integration) is configured with it (learnt from
integration.configured / integration.removed events) or while a credential that was issued
through it is not revoked. Pending authorizations do not count: deleting the profile makes
their callback fail with auth_profile_not_found instead.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from auth_service.adapters.collections import CREDENTIALS, PROFILES, USAGE
from auth_service.domain.profiles import (
    CustomProfile,
    OAuthClient,
    scope_problems,
    system_client,
    system_profile_id,
    url_problems,
)
from auth_service.domain.providers import ProviderSpec
from auth_service.service_layer.context import Context
from auth_service.service_layer.errors import (
    AuthProfileInUse,
    AuthProfileNotFound,
    InvalidCallbackUrl,
    ProfileNotFound,
    SystemProfileUnavailable,
)
from platform_core.contract_types import CustomProfileRef, ProfileRef, SystemProfileRef, utc_now
from platform_core.errors import ValidationFailed
from platform_core.mongo import Document

URL_FIELDS = ("authorization_url", "token_url", "refresh_url")


@dataclass(frozen=True)
class SystemProfileView:
    profile_id: str
    integration: str
    idp_name: str
    scopes: tuple[str, ...]
    callback_url: str
    available: bool


@dataclass(frozen=True)
class ProfileFields:
    """What a create or patch request supplies; None means "not given" for a patch."""

    name: str | None = None
    integration: str | None = None
    idp_name: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    authorization_url: str | None = None
    token_url: str | None = None
    refresh_url: str | None = None
    scopes: tuple[str, ...] | None = None
    callback_url: str | None = None


def profile_ref(raw: dict[str, Any]) -> ProfileRef:
    """A stored `{"kind", "profile_id"?}` back into the contract's profile reference."""
    if raw.get("kind") == "custom":
        return CustomProfileRef(profile_id=raw["profile_id"])
    return SystemProfileRef()


def system_profiles(ctx: Context) -> list[SystemProfileView]:
    return [
        SystemProfileView(
            profile_id=system_profile_id(spec.integration),
            integration=spec.integration,
            idp_name=spec.idp_name,
            scopes=tuple(spec.default_scopes),
            callback_url=ctx.settings.callback_url,
            available=_system_client(ctx, spec) is not None,
        )
        for spec in ctx.providers.values()
    ]


def _system_client(ctx: Context, spec: ProviderSpec) -> OAuthClient | None:
    return system_client(
        spec,
        ctx.settings.variable(spec.system_client.client_id_variable),
        ctx.settings.variable(spec.system_client.client_secret_variable),
        ctx.settings.callback_url,
    )


def _profile(doc: Document) -> CustomProfile:
    return CustomProfile(
        profile_id=doc["_id"],
        app_id=doc["app_id"],
        name=doc["name"],
        integration=doc["integration"],
        idp_name=doc["idp_name"],
        client_id=doc["client_id"],
        authorization_url=doc["authorization_url"],
        token_url=doc["token_url"],
        refresh_url=doc.get("refresh_url") or doc["token_url"],
        scopes=tuple(doc["scopes"]),
        callback_url=doc["callback_url"],
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
        deleted=doc.get("deleted_at") is not None,
    )


def _check(ctx: Context, fields: ProfileFields) -> None:
    urls = {name: getattr(fields, name) for name in URL_FIELDS}
    problems = url_problems(urls, allow_insecure=ctx.settings.allow_insecure_provider_urls)
    if fields.scopes is not None:
        problems += scope_problems(fields.scopes)
    if problems:
        raise ValidationFailed(problems)
    if fields.callback_url is not None and fields.callback_url != ctx.settings.callback_url:
        raise InvalidCallbackUrl(f"The callback URL must be {ctx.settings.callback_url}")


async def create_profile(ctx: Context, app_id: str, fields: ProfileFields) -> CustomProfile:
    assert fields.integration is not None and fields.client_secret is not None
    ctx.provider(fields.integration)
    _check(ctx, fields)
    profile_id = f"prof_{uuid.uuid4().hex}"
    now = utc_now()
    doc: Document = {
        "_id": profile_id,
        "app_id": app_id,
        "name": fields.name,
        "integration": fields.integration,
        "type": "oauth2",
        "idp_name": fields.idp_name,
        "client_id": fields.client_id,
        "client_secret": ctx.vault.seal(fields.client_secret, profile_id, "client_secret"),
        "authorization_url": fields.authorization_url,
        "token_url": fields.token_url,
        "refresh_url": fields.refresh_url,  # None: follows token_url, even when that changes
        "scopes": list(fields.scopes or ()),
        "callback_url": fields.callback_url or ctx.settings.callback_url,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    await ctx.db[PROFILES].insert_one(doc)
    return _profile(doc)


async def get_profile(ctx: Context, app_id: str, profile_id: str) -> CustomProfile:
    doc = await ctx.db[PROFILES].find_one(
        {"_id": profile_id, "app_id": app_id, "deleted_at": None}, {"client_secret": 0}
    )
    if doc is None:
        raise ProfileNotFound(f"No authorization profile {profile_id!r} in this app")
    return _profile(doc)


async def list_profiles(
    ctx: Context, app_id: str, limit: int, after: str | None
) -> list[CustomProfile]:
    query: dict[str, Any] = {"app_id": app_id, "deleted_at": None}
    if after:
        query["_id"] = {"$gt": after}
    cursor = ctx.db[PROFILES].find(query, {"client_secret": 0}).sort("_id", 1).limit(limit)
    return [_profile(doc) async for doc in cursor]


async def patch_profile(
    ctx: Context, app_id: str, profile_id: str, fields: ProfileFields
) -> CustomProfile:
    current = await get_profile(ctx, app_id, profile_id)
    if fields.integration is not None and fields.integration != current.integration:
        ctx.provider(fields.integration)
    _check(ctx, fields)
    changes: dict[str, Any] = {
        name: value
        for name, value in vars(fields).items()
        if value is not None and name != "client_secret"
    }
    if "scopes" in changes:
        changes["scopes"] = list(changes["scopes"])
    if fields.client_secret is not None:
        changes["client_secret"] = ctx.vault.seal(fields.client_secret, profile_id, "client_secret")
    changes["updated_at"] = utc_now()
    result = await ctx.db[PROFILES].find_one_and_update(
        {"_id": profile_id, "app_id": app_id, "deleted_at": None},
        {"$set": changes},
        projection={"client_secret": 0},
        return_document=True,
    )
    if result is None:
        raise ProfileNotFound(f"No authorization profile {profile_id!r} in this app")
    return _profile(result)


async def profile_in_use(ctx: Context, profile_id: str) -> bool:
    if await ctx.db[USAGE].find_one({"profile_id": profile_id}, {"_id": 1}):
        return True
    live = {"profile.profile_id": profile_id, "status": {"$ne": "revoked"}}
    return await ctx.db[CREDENTIALS].find_one(live, {"_id": 1}) is not None


async def delete_profile(ctx: Context, app_id: str, profile_id: str) -> None:
    await get_profile(ctx, app_id, profile_id)
    if await profile_in_use(ctx, profile_id):
        raise AuthProfileInUse("An integration of this app uses this profile")
    await ctx.db[PROFILES].update_one(
        {"_id": profile_id, "app_id": app_id},
        {"$set": {"deleted_at": utc_now()}, "$unset": {"client_secret": ""}},
    )


async def resolve_client(
    ctx: Context, app_id: str, integration: str, ref: ProfileRef
) -> OAuthClient:
    """The OAuth client for `ref`, or the contract's errors for a profile that cannot be used."""
    spec = ctx.provider(integration)
    if not isinstance(ref, CustomProfileRef):
        client = _system_client(ctx, spec)
        if client is None:
            raise SystemProfileUnavailable(f"No system OAuth app is configured for {integration}")
        return client
    doc = await ctx.db[PROFILES].find_one(
        {"_id": ref.profile_id, "app_id": app_id, "deleted_at": None}
    )
    if doc is None or doc["integration"] != integration or "client_secret" not in doc:
        raise AuthProfileNotFound(f"No usable custom profile {ref.profile_id!r} for {integration}")
    secret = ctx.vault.open(doc["client_secret"], doc["_id"], "client_secret")
    return _profile(doc).client(secret, spec)
