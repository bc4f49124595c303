"""integration-service's request and response bodies; the OpenAPI document is generated from them.

Beyond contract §1, each integration body carries `configurable` and `configurable_reason`, so a
console can say why a trial app cannot configure anything (the contract allows additions).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StringConstraints

from integration_manifests import Edition
from integration_service.domain.apps import App
from integration_service.domain.authorizations import IssuedAuthorization
from integration_service.domain.catalog import CatalogEntry
from integration_service.domain.integration import ConnectionStatus, State
from integration_service.service_layer.lifecycle import IntegrationView
from platform_core.api import AppId, RequestModel, ResponseModel
from platform_core.contract_types import (
    AuthorizationType,
    ErrorInfo,
    ProfileRef,
    ReturnUrl,
    SystemProfileRef,
    UserId,
    UtcDateTime,
)
from platform_core.paging import Page

AppName = Annotated[str, StringConstraints(min_length=1, max_length=200)]

# --- requests ------------------------------------------------------------------------------


class AppPath(RequestModel):
    app_id: AppId


class IntegrationPath(RequestModel):
    app_id: AppId
    integration: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class PutAppBody(RequestModel):
    name: AppName
    edition: Edition


class ConfigureBody(RequestModel):
    type: AuthorizationType
    # The "Enable" button of "Allow users to authorize" names no profile: the platform's own
    # OAuth app is what a user of the API would expect then.
    profile: ProfileRef = Field(
        default_factory=SystemProfileRef,
        description="The OAuth app to consent with; the system profile when omitted.",
    )
    return_url: ReturnUrl | None = None


class PatchIntegrationBody(RequestModel):
    enabled: StrictBool


class UserLinkBody(RequestModel):
    user_id: UserId
    return_url: ReturnUrl | None = None


# --- responses -----------------------------------------------------------------------------


class AppOut(ResponseModel):
    app_id: str
    name: str
    edition: Edition
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, app: App) -> AppOut:
        return cls.model_validate(app.model_dump())


class CatalogEntryOut(ResponseModel):
    integration: str
    display_name: str
    category: str
    authorization_types: list[AuthorizationType]
    default_scopes: list[str]
    editions: list[Edition]

    @classmethod
    def of(cls, entry: CatalogEntry) -> CatalogEntryOut:
        return cls.model_validate(entry.model_dump())


class CatalogPage(ResponseModel):
    items: list[CatalogEntryOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[CatalogEntry]) -> CatalogPage:
        return cls(items=[CatalogEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)


class AuthorizationOut(ResponseModel):
    type: AuthorizationType
    profile: ProfileRef


class PendingAuthorizationOut(AuthorizationOut):
    """The consent a pre_authorize call started: send the admin to `authorization_url`."""

    authorization_id: str
    authorization_url: str
    expires_at: UtcDateTime


class ConnectionOut(ResponseModel):
    status: ConnectionStatus = Field(
        description=(
            "`pending` while an available integration waits for consent; a configured one being "
            "re-configured keeps the status of the connection it runs on until the new consent "
            "completes (the new consent shows in `pending_authorization_id`)"
        )
    )
    pending_authorization_id: str | None
    last_error: ErrorInfo | None = Field(
        description="The last failed or refused consent; cleared by a new configuration"
    )


class IntegrationOut(ResponseModel):
    integration: str
    display_name: str
    state: State
    authorization: AuthorizationOut | None
    connection: ConnectionOut
    first_configured_at: UtcDateTime | None
    updated_at: UtcDateTime
    version: int
    configurable: bool = Field(
        description="Whether this app's edition may configure the integration (beyond §1)"
    )
    configurable_reason: Literal["edition_not_supported"] | None = Field(
        description="Why `configurable` is false, as the error code a configuration would get"
    )

    @classmethod
    def of(cls, view: IntegrationView) -> IntegrationOut:
        return cls.model_validate(_integration_fields(view))


class IntegrationAcceptedOut(IntegrationOut):
    """The 202 of a pre_authorize: the state is unchanged until the admin finishes consent."""

    authorization: PendingAuthorizationOut

    @classmethod
    def of_pending(cls, view: IntegrationView) -> IntegrationAcceptedOut:
        pending = view.integration.pending
        if pending is None:
            raise ValueError("no pending authorization to describe")
        fields = _integration_fields(view)
        fields["authorization"] = {
            "type": "pre_authorize",
            "profile": pending.profile,
            "authorization_id": pending.authorization_id,
            "authorization_url": pending.authorization_url,
            "expires_at": pending.expires_at,
        }
        return cls.model_validate(fields)


class IntegrationPage(ResponseModel):
    items: list[IntegrationOut]
    next_cursor: str | None

    @classmethod
    def of(cls, page: Page[IntegrationView]) -> IntegrationPage:
        return cls(items=[IntegrationOut.of(v) for v in page.items], next_cursor=page.next_cursor)


class UserLinkOut(ResponseModel):
    link: str
    expires_at: UtcDateTime

    @classmethod
    def of(cls, issued: IssuedAuthorization) -> UserLinkOut:
        return cls(link=issued.authorization_url, expires_at=issued.expires_at)


def _integration_fields(view: IntegrationView) -> dict[str, object]:
    integration = view.integration
    return {
        "integration": integration.integration,
        "display_name": view.entry.display_name,
        "state": integration.state,
        "authorization": (
            integration.authorization.model_dump() if integration.authorization else None
        ),
        "connection": {
            "status": integration.connection_status,
            "pending_authorization_id": (
                integration.pending.authorization_id if integration.pending else None
            ),
            "last_error": integration.last_error,
        },
        "first_configured_at": integration.first_configured_at,
        # Never touched: it has been available since the app was registered.
        "updated_at": integration.updated_at or view.app.created_at,
        "version": integration.version,
        "configurable": view.configurable,
        "configurable_reason": None if view.configurable else "edition_not_supported",
    }
