"""Request and response models of auth-service's API (the OpenAPI document comes from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from auth_service.domain.authorization import Authorization
from auth_service.domain.credential import Credential
from auth_service.domain.profiles import CustomProfile, SystemProfile
from auth_service.service_layer.links import Issued
from auth_service.service_layer.tokens import Vended
from platform_core.api import AppId, PageQuery, RequestModel, ResponseModel
from platform_core.contract_types import (
    IntegrationName,
    OpaqueId,
    ProfileRef,
    ReturnUrl,
    SiteResource,
    Subject,
    UtcDateTime,
)
from platform_core.paging import Page

ClientField = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=3000)]
# What domain.urls also refuses, stated where the OpenAPI document shows it: printable ASCII only
# (no whitespace, no control character, no backslash). The allowlist match is the service's.
Scope = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class AppPath(RequestModel):
    app_id: AppId


class ProfilePath(RequestModel):
    app_id: AppId
    profile_id: OpaqueId


class CredentialPath(RequestModel):
    app_id: AppId
    credential_id: OpaqueId


class TokenPath(RequestModel):
    app_id: AppId
    integration: IntegrationName


class AuthorizationPath(RequestModel):
    authorization_id: OpaqueId


class CredentialQuery(PageQuery):
    integration: IntegrationName | None = None
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None


class ProfileIn(RequestModel):
    name: Name
    integration: IntegrationName
    type: Literal["oauth2"] = "oauth2"
    idp_name: Name
    client_id: ClientField
    client_secret: ClientField
    authorization_url: Url
    token_url: Url
    refresh_url: Url | None = None
    scopes: list[Scope] = Field(min_length=1, max_length=100)
    callback_url: Url | None = None


class ProfilePatch(RequestModel):
    name: Name | None = None
    idp_name: Name | None = None
    client_id: ClientField | None = None
    client_secret: ClientField | None = None
    authorization_url: Url | None = None
    token_url: Url | None = None
    refresh_url: Url | None = None
    scopes: list[Scope] | None = Field(default=None, min_length=1, max_length=100)
    callback_url: Url | None = None


class ProfileOut(ResponseModel):
    profile_id: str
    app_id: str
    name: str
    integration: str
    type: Literal["oauth2"] = "oauth2"
    idp_name: str
    client_id: str
    client_secret_set: bool = True
    authorization_url: str
    token_url: str
    refresh_url: str
    scopes: list[str]
    callback_url: str
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, profile: CustomProfile) -> ProfileOut:
        return cls(
            profile_id=profile.profile_id,
            app_id=profile.app_id,
            name=profile.name,
            integration=profile.integration,
            idp_name=profile.idp_name,
            client_id=profile.client_id,
            authorization_url=profile.authorization_url,
            token_url=profile.token_url,
            refresh_url=profile.effective_refresh_url,
            scopes=list(profile.scopes),
            callback_url=profile.callback_url,
            created_at=profile.created_at,
            updated_at=profile.updated_at,
        )


class ProfileList(ResponseModel):
    items: list[ProfileOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[CustomProfile]) -> ProfileList:
        return cls(items=[ProfileOut.of(p) for p in page.items], next_cursor=page.next_cursor)


class SystemProfileOut(ResponseModel):
    profile_id: str
    integration: str
    idp_name: str
    scopes: list[str]
    callback_url: str
    available: bool

    @classmethod
    def of(cls, profile: SystemProfile) -> SystemProfileOut:
        return cls.model_validate(vars(profile))


class SystemProfileList(ResponseModel):
    items: list[SystemProfileOut]
    next_cursor: None = None

    @classmethod
    def of(cls, profiles: list[SystemProfile]) -> SystemProfileList:
        return cls(items=[SystemProfileOut.of(p) for p in profiles])


class AuthorizationIn(RequestModel):
    app_id: AppId
    integration: IntegrationName
    profile: ProfileRef
    subject: Subject
    return_url: ReturnUrl | None = Field(
        default=None,
        description=(
            "Where the browser goes after the consent: at or below an entry of the service's "
            "RETURN_URL_ALLOWLIST (same scheme, host and port; the path at a / boundary)"
        ),
    )
    ttl_seconds: int | None = Field(default=None, ge=60)
    site_hint: Url | None = Field(
        default=None, description="A site URL or cloud id to bind when several sites are reachable"
    )
    app_name: Name | None = Field(
        default=None, description="Shown on the confirmation page; the app's id when omitted"
    )


class AuthorizationOut(ResponseModel):
    authorization_id: str
    authorization_url: str
    expires_at: UtcDateTime
    status: Literal["pending"] = "pending"

    @classmethod
    def of(cls, issued: Issued) -> AuthorizationOut:
        return cls(
            authorization_id=issued.authorization_id,
            authorization_url=issued.authorization_url,
            expires_at=issued.expires_at,
        )


class ErrorOut(ResponseModel):
    code: str
    description: str | None


class AuthorizationStatusOut(ResponseModel):
    authorization_id: str
    app_id: str
    status: Literal["pending", "site_selection_required", "completed", "failed", "expired"]
    expires_at: UtcDateTime
    credential_id: str | None
    error: ErrorOut | None

    @classmethod
    def of(cls, authorization: Authorization, now: datetime) -> AuthorizationStatusOut:
        error = authorization.error
        return cls(
            authorization_id=authorization.authorization_id,
            app_id=authorization.app_id,
            status=authorization.effective_status(now),
            expires_at=authorization.expires_at,
            credential_id=authorization.credential_id,
            error=ErrorOut(code=error.code, description=error.description) if error else None,
        )


class ResourceOut(ResponseModel):
    cloud_id: str
    site_url: str


class CredentialOut(ResponseModel):
    credential_id: str
    integration: str
    subject: Subject
    status: Literal["active", "reauthorization_required", "revoked"]
    scopes: list[str]
    resource: ResourceOut | None
    expires_at: UtcDateTime | None
    last_refreshed_at: UtcDateTime | None
    created_at: UtcDateTime

    @classmethod
    def of(cls, credential: Credential) -> CredentialOut:
        resource = credential.resource
        return cls(
            credential_id=credential.credential_id,
            integration=credential.integration,
            subject=credential.subject,
            status=credential.status,
            scopes=list(credential.scopes),
            resource=ResourceOut(cloud_id=resource.cloud_id, site_url=resource.site_url)
            if resource
            else None,
            expires_at=credential.expires_at,
            last_refreshed_at=credential.last_refreshed_at,
            created_at=credential.created_at,
        )


class CredentialList(ResponseModel):
    items: list[CredentialOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[Credential]) -> CredentialList:
        return cls(items=[CredentialOut.of(c) for c in page.items], next_cursor=page.next_cursor)


class AccessTokenIn(RequestModel):
    subject: Subject
    min_valid_seconds: int = Field(default=60, ge=0, le=3600)
    force_refresh: bool = False


class AccessTokenOut(ResponseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105
    expires_at: UtcDateTime | None
    scopes: list[str]
    credential_id: str
    resource: SiteResource | None

    @classmethod
    def of(cls, vended: Vended) -> AccessTokenOut:
        return cls(
            access_token=vended.access_token.reveal(),
            expires_at=vended.expires_at,
            scopes=list(vended.scopes),
            credential_id=vended.credential_id,
            resource=vended.resource,
        )
