"""auth-service's JSON API (contract §2): profiles, authorizations, credentials, access tokens.

Views are thin: validate (ApiRoutes does it from the annotations), call the service layer,
shape the answer with the response models' `of`. Secrets go in, never out: the only response
carrying a token is the access-token call, sent with Cache-Control: no-store. Issuing links is
rate-limited per calling `sub` (RATE_LIMIT_PER_MINUTE, entrypoints.limits): 429 with
Retry-After.
"""

from __future__ import annotations

from aiohttp import web

from auth_service.domain import errors as e
from auth_service.domain.secrets import Secret
from auth_service.entrypoints import schemas as s
from auth_service.entrypoints.limits import LIMITS_KEY
from auth_service.service_layer.credentials import Credentials
from auth_service.service_layer.links import Links
from auth_service.service_layer.ports import Units
from auth_service.service_layer.profiles import NewProfile, Profiles
from auth_service.service_layer.tokens import Tokens
from platform_core.api import CALLER_KEY, ApiRoutes, Header, PageQuery, Reply
from platform_core.contract_types import utc_now
from platform_core.errors import TooManyRequests, ValidationFailed
from platform_core.service_auth import Scope

routes = ApiRoutes(tags=["auth-service"])

# Set by the composition root's start-up context, once MongoDB is up.
PROFILES_KEY = web.AppKey("profiles", Profiles)
LINKS_KEY = web.AppKey("links", Links)
CREDENTIALS_KEY = web.AppKey("credentials", Credentials)
TOKENS_KEY = web.AppKey("tokens", Tokens)
UOW_KEY = web.AppKey("uow", Units)


@routes.get(
    "/v1/auth-profiles/system",
    summary="The system profiles, one per integration, without secrets",
    responses={200: s.SystemProfileList},
)
async def list_system_profiles(request: web.Request) -> Reply:
    return Reply(s.SystemProfileList.of(request.app[PROFILES_KEY].system_profiles()))


@routes.post(
    "/v1/apps/{app_id}/auth-profiles",
    summary="Create a custom OAuth 2.0 profile (the secret is stored encrypted, never returned)",
    responses={201: s.ProfileOut},
    errors=[e.IntegrationNotFound, e.InvalidCallbackUrl, ValidationFailed],
)
async def create_profile(request: web.Request, path: s.AppPath, body: s.ProfileIn) -> Reply:
    new = NewProfile(
        name=body.name,
        integration=body.integration,
        idp_name=body.idp_name,
        client_id=body.client_id,
        client_secret=Secret.of(body.client_secret),
        authorization_url=body.authorization_url,
        token_url=body.token_url,
        refresh_url=body.refresh_url,
        scopes=tuple(body.scopes),
        callback_url=body.callback_url,
    )
    created = await request.app[PROFILES_KEY].create(path.app_id, new)
    return Reply(s.ProfileOut.of(created), 201)


@routes.get(
    "/v1/apps/{app_id}/auth-profiles",
    summary="The app's custom profiles",
    responses={200: s.ProfileList},
)
async def list_profiles(request: web.Request, path: s.AppPath, query: PageQuery) -> Reply:
    page = await request.app[PROFILES_KEY].page(path.app_id, query)
    return Reply(s.ProfileList.of(page))


@routes.get(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary="One custom profile",
    responses={200: s.ProfileOut},
    errors=[e.ProfileNotFound],
)
async def get_profile(request: web.Request, path: s.ProfilePath) -> Reply:
    profile = await request.app[PROFILES_KEY].get(path.app_id, path.profile_id)
    return Reply(s.ProfileOut.of(profile))


@routes.patch(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary=(
        "Change a custom profile; changing a URL or the client id needs client_secret in the "
        "same request"
    ),
    responses={200: s.ProfileOut},
    errors=[e.ProfileNotFound, e.InvalidCallbackUrl, e.ClientSecretRequired, ValidationFailed],
)
async def patch_profile(request: web.Request, path: s.ProfilePath, body: s.ProfilePatch) -> Reply:
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "scopes" in changes:
        changes["scopes"] = tuple(changes["scopes"])
    if "client_secret" in changes:
        changes["client_secret"] = Secret.of(changes["client_secret"])
    updated = await request.app[PROFILES_KEY].patch(path.app_id, path.profile_id, changes)
    return Reply(s.ProfileOut.of(updated))


@routes.delete(
    "/v1/apps/{app_id}/auth-profiles/{profile_id}",
    summary="Delete a custom profile unless an integration uses it",
    responses={204: None},
    errors=[e.ProfileNotFound, e.AuthProfileInUse],
)
async def delete_profile(request: web.Request, path: s.ProfilePath) -> Reply:
    await request.app[PROFILES_KEY].delete(path.app_id, path.profile_id)
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
        ValidationFailed,
        TooManyRequests,
        e.TooManyOpenAuthorizations,
    ],
    headers={
        429: {
            "Retry-After": Header(
                "With too_many_requests: seconds until this caller may ask again", required=False
            )
        }
    },
)
async def create_authorization(request: web.Request, body: s.AuthorizationIn) -> Reply:
    wait = request.app[LIMITS_KEY].issuing.take(request[CALLER_KEY].subject)
    if wait is not None:
        raise TooManyRequests(
            "Too many authorizations requested; try again later",
            headers={"Retry-After": str(wait)},
        )
    issued = await request.app[LINKS_KEY].issue(
        app_id=body.app_id,
        integration=body.integration,
        profile=body.profile,
        subject=body.subject,
        return_url=body.return_url,
        ttl_seconds=body.ttl_seconds,
        site_hint=body.site_hint,
        app_name=body.app_name,
    )
    return Reply(s.AuthorizationOut.of(issued), 201)


@routes.get(
    "/v1/authorizations/{authorization_id}",
    summary="Where an authorization stands",
    responses={200: s.AuthorizationStatusOut},
    errors=[e.AuthorizationNotFound],
)
async def get_authorization(request: web.Request, path: s.AuthorizationPath) -> Reply:
    authorization = await request.app[LINKS_KEY].status(path.authorization_id)
    request[CALLER_KEY].require_app(authorization.app_id)
    return Reply(s.AuthorizationStatusOut.of(authorization, utc_now()))


@routes.get(
    "/v1/apps/{app_id}/credentials",
    summary="The app's credentials: metadata only",
    responses={200: s.CredentialList},
)
async def list_credentials(
    request: web.Request, path: s.AppPath, query: s.CredentialQuery
) -> Reply:
    page = await request.app[CREDENTIALS_KEY].page(
        path.app_id, integration=query.integration, user_id=query.user_id, query=query
    )
    return Reply(s.CredentialList.of(page))


@routes.delete(
    "/v1/apps/{app_id}/credentials/{credential_id}",
    summary="Destroy a credential: its tokens are erased, credential.revoked is published",
    responses={204: None},
    errors=[e.CredentialNotFound],
)
async def delete_credential(request: web.Request, path: s.CredentialPath) -> Reply:
    await request.app[CREDENTIALS_KEY].delete(path.app_id, path.credential_id)
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
        e.IntegrationDisabled,
        e.ProviderUnavailableError,
    ],
    headers={
        200: {
            "Cache-Control": Header("no-store: the token must not be cached"),
            "Pragma": Header("no-cache, for HTTP/1.0 caches"),
        }
    },
)
async def access_token(request: web.Request, path: s.TokenPath, body: s.AccessTokenIn) -> Reply:
    vended = await request.app[TOKENS_KEY].access_token(
        path.app_id,
        path.integration,
        body.subject,
        min_valid_seconds=body.min_valid_seconds,
        force_refresh=body.force_refresh,
    )
    return Reply(
        s.AccessTokenOut.of(vended), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
    )
