"""auth-service's JSON API (contract §2): profiles, authorizations, credentials, access tokens.

Views are thin: validate (ApiRoutes does it from the annotations), call the service layer,
shape the answer. Secrets go in, never out: the only response carrying a token is the
access-token call, sent with Cache-Control: no-store.
"""

from __future__ import annotations

from aiohttp import web

from auth_service.domain.profiles import CustomProfile
from auth_service.entrypoints import schemas as s
from auth_service.entrypoints.state import wired
from auth_service.service_layer import credentials, links, profiles
from auth_service.service_layer import errors as e
from auth_service.service_layer.profiles import ProfileFields
from platform_core.api import CALLER_KEY, ApiRoutes, PageQuery, Reply
from platform_core.errors import ValidationFailed
from platform_core.mongo import Document
from platform_core.service_auth import Scope

routes = ApiRoutes(tags=["auth-service"])


def _profile_out(profile: CustomProfile) -> s.ProfileOut:
    return s.ProfileOut(
        profile_id=profile.profile_id,
        app_id=profile.app_id,
        name=profile.name,
        integration=profile.integration,
        idp_name=profile.idp_name,
        client_id=profile.client_id,
        authorization_url=profile.authorization_url,
        token_url=profile.token_url,
        refresh_url=profile.refresh_url,
        scopes=list(profile.scopes),
        callback_url=profile.callback_url,
        created_at=profile.created_at,
        updated_at=profile.updated_at,
    )


@routes.get(
    "/v1/auth-profiles/system",
    summary="The system profiles, one per integration, without secrets",
    responses={200: s.SystemProfileList},
)
async def list_system_profiles(request: web.Request) -> Reply:
    ctx, _ = wired(request)
    items = [s.SystemProfileOut.model_validate(vars(v)) for v in profiles.system_profiles(ctx)]
    return Reply(s.SystemProfileList(items=items))


@routes.post(
    "/v1/apps/{app_id}/auth-profiles",
    summary="Create a custom OAuth 2.0 profile (the secret is stored encrypted, never returned)",
    responses={201: s.ProfileOut},
    errors=[e.IntegrationNotFound, e.InvalidCallbackUrl, ValidationFailed],
)
async def create_profile(request: web.Request, path: s.AppPath, body: s.ProfileIn) -> Reply:
    ctx, _ = wired(request)
    given = body.model_dump(exclude={"type", "scopes"})
    fields = ProfileFields(**given, scopes=tuple(body.scopes))
    created = await profiles.create_profile(ctx, path.app_id, fields)
    return Reply(_profile_out(created), 201)


@routes.get(
    "/v1/apps/{app_id}/auth-profiles",
    summary="The app's custom profiles",
    responses={200: s.ProfileList},
)
async def list_profiles(request: web.Request, path: s.AppPath, query: PageQuery) -> Reply:
    ctx, _ = wired(request)
    found = await profiles.list_profiles(ctx, path.app_id, query.limit + 1, query.cursor)
    page, more = found[: query.limit], len(found) > query.limit
    return Reply(
        s.ProfileList(
            items=[_profile_out(p) for p in page],
            next_cursor=page[-1].profile_id if more else None,
        )
    )


@routes.get(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary="One custom profile",
    responses={200: s.ProfileOut},
    errors=[e.ProfileNotFound],
)
async def get_profile(request: web.Request, path: s.ProfilePath) -> Reply:
    ctx, _ = wired(request)
    return Reply(_profile_out(await profiles.get_profile(ctx, path.app_id, path.profile_id)))


@routes.patch(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary="Change a custom profile (the secret is optional)",
    responses={200: s.ProfileOut},
    errors=[e.ProfileNotFound, e.InvalidCallbackUrl, ValidationFailed],
)
async def patch_profile(request: web.Request, path: s.ProfilePath, body: s.ProfilePatch) -> Reply:
    ctx, _ = wired(request)
    given = body.model_dump(exclude_unset=True)
    if "scopes" in given and given["scopes"] is not None:
        given["scopes"] = tuple(given["scopes"])
    updated = await profiles.patch_profile(
        ctx, path.app_id, path.profile_id, ProfileFields(**given)
    )
    return Reply(_profile_out(updated))


@routes.delete(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary="Delete a custom profile unless an integration uses it",
    responses={204: None},
    errors=[e.ProfileNotFound, e.AuthProfileInUse],
)
async def delete_profile(request: web.Request, path: s.ProfilePath) -> Reply:
    ctx, _ = wired(request)
    await profiles.delete_profile(ctx, path.app_id, path.profile_id)
    return Reply(status=204)


@routes.post(
    "/v1/authorizations",
    summary="Start an authorization: a link to this service's /connect page",
    responses={201: s.AuthorizationOut},
    errors=[
        e.IntegrationNotFound,
        e.AuthProfileNotFound,
        e.SystemProfileUnavailable,
        e.ReturnUrlNotAllowed,
    ],
)
async def create_authorization(request: web.Request, body: s.AuthorizationIn) -> Reply:
    ctx, _ = wired(request)
    issued = await links.issue(
        ctx,
        app_id=body.app_id,
        integration=body.integration,
        profile=body.profile,
        subject=body.subject,
        return_url=body.return_url,
        ttl_seconds=body.ttl_seconds,
        site_hint=body.site_hint,
    )
    out = s.AuthorizationOut(
        authorization_id=issued.authorization_id,
        authorization_url=issued.authorization_url,
        expires_at=issued.expires_at,
    )
    return Reply(out, 201)


@routes.get(
    "/v1/authorizations/{authorization_id}",
    summary="Where an authorization stands",
    responses={200: s.AuthorizationStatusOut},
    errors=[e.AuthorizationNotFound],
)
async def get_authorization(request: web.Request, path: s.AuthorizationPath) -> Reply:
    ctx, _ = wired(request)
    doc = await links.get(ctx, path.authorization_id)
    request[CALLER_KEY].require_app(doc["app_id"])
    error = doc.get("error")
    return Reply(
        s.AuthorizationStatusOut(
            authorization_id=doc["_id"],
            app_id=doc["app_id"],
            status=doc["status"],
            expires_at=doc["expires_at"],
            credential_id=doc.get("credential_id"),
            error=s.ErrorOut(code=error["code"], description=error.get("description"))
            if error
            else None,
        )
    )


def _credential_out(doc: Document) -> s.CredentialOut:
    resource = doc.get("resource")
    return s.CredentialOut(
        credential_id=doc["_id"],
        integration=doc["integration"],
        subject=doc["subject"],
        status=doc["status"],
        scopes=doc["scopes"],
        resource=s.ResourceOut(**resource) if resource else None,
        expires_at=doc.get("expires_at"),
        last_refreshed_at=doc.get("last_refreshed_at"),
        created_at=doc["created_at"],
    )


@routes.get(
    "/v1/apps/{app_id}/credentials",
    summary="The app's credentials: metadata only",
    responses={200: s.CredentialList},
)
async def list_credentials(
    request: web.Request, path: s.AppPath, query: s.CredentialQuery
) -> Reply:
    ctx, _ = wired(request)
    found = await credentials.list_credentials(
        ctx,
        path.app_id,
        integration=query.integration,
        user_id=query.user_id,
        limit=query.limit + 1,
        after=query.cursor,
    )
    page, more = found[: query.limit], len(found) > query.limit
    return Reply(
        s.CredentialList(
            items=[_credential_out(doc) for doc in page],
            next_cursor=page[-1]["_id"] if more else None,
        )
    )


@routes.delete(
    "/v1/apps/{app_id}/credentials/{credential_id}",
    summary="Destroy a credential: its tokens are erased, credential.revoked is published",
    responses={204: None},
    errors=[e.CredentialNotFound],
)
async def delete_credential(request: web.Request, path: s.CredentialPath) -> Reply:
    ctx, _ = wired(request)
    await credentials.delete_credential(ctx, path.app_id, path.credential_id)
    return Reply(status=204)


@routes.post(
    "/v1/apps/{app_id}/integrations/{integration}/access-token",
    summary="A valid access token for the subject, refreshed first when needed",
    responses={200: s.AccessTokenOut},
    scope=Scope.ISSUE_TOKENS,
    errors=[
        e.IntegrationNotFound,
        e.CredentialNotFound,
        e.ReauthorizationRequired,
        e.ProviderUnavailableError,
    ],
)
async def access_token(request: web.Request, path: s.TokenPath, body: s.AccessTokenIn) -> Reply:
    _, tokens = wired(request)
    vended = await tokens.access_token(
        path.app_id,
        path.integration,
        body.subject,
        min_valid_seconds=body.min_valid_seconds,
        force_refresh=body.force_refresh,
    )
    out = s.AccessTokenOut(
        access_token=vended.access_token,
        expires_at=vended.expires_at,
        scopes=vended.scopes,
        credential_id=vended.credential_id,
        resource=vended.resource,
    )
    return Reply(out, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
