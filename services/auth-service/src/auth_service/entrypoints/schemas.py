"""Request and response models of auth-service's API (the OpenAPI document comes from them)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from platform_core.api import AppId, PageQuery, RequestModel, ResponseModel
from platform_core.contract_types import (
    IntegrationName,
    OpaqueId,
    ProfileRef,
    SiteResource,
    Subject,
    UtcDateTime,
)

ClientField = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Url = Annotated[str, StringConstraints(min_length=1, max_length=3000)]
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


class ProfileList(ResponseModel):
    items: list[ProfileOut]
    next_cursor: str | None


class SystemProfileOut(ResponseModel):
    profile_id: str
    integration: str
    idp_name: str
    scopes: list[str]
    callback_url: str
    available: bool


class SystemProfileList(ResponseModel):
    items: list[SystemProfileOut]
    next_cursor: None = None


class AuthorizationIn(RequestModel):
    app_id: AppId
    integration: IntegrationName
    profile: ProfileRef
    subject: Subject
    return_url: Url | None = None
    ttl_seconds: int | None = Field(default=None, ge=60)
    site_hint: Url | None = Field(
        default=None, description="A site URL or cloud id to bind when several sites are reachable"
    )


class AuthorizationOut(ResponseModel):
    authorization_id: str
    authorization_url: str
    expires_at: UtcDateTime
    status: Literal["pending"] = "pending"


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


class CredentialList(ResponseModel):
    items: list[CredentialOut]
    next_cursor: str | None


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
