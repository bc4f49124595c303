"""The schema of `manifest.toml`: all one integration is, validated before any service starts.

A manifest has three parts, each owned by one service: `catalog` (integration-service: how the
integration is offered), `provider` (auth-service: how to obtain and refresh its tokens, keyed on
`auth_mode`), and the templates in the folder's `templates/` (template-service). `variables`
declares the environment variables the manifest's `${NAME}` placeholders read, with defaults;
the provider's `system_app` names the variables holding the platform's own OAuth app. A provider
quirk is a hook *name* (`post_connection`); the code behind each name lives in the service that
runs it, in a registry dispatched by name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from platform_core.contract_types import AuthorizationType, IntegrationName

Edition = Literal["developer", "enterprise", "trial"]
VARIABLE_NAME = r"^[A-Z][A-Z0-9_]{0,63}$"
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")
PROTOCOL_PARAMETERS = frozenset({"response_type", "client_id", "redirect_uri", "scope", "state"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Catalog(_Strict):
    """How the integration appears in the catalog (contract §1)."""

    display_name: str = Field(min_length=1, max_length=100)
    category: Literal["actions"]
    authorization_types: tuple[AuthorizationType, ...] = Field(min_length=1)
    editions: tuple[Edition, ...] = Field(min_length=1)


class Variable(_Strict):
    """An environment variable a `${NAME}` placeholder reads; `default` when it is unset."""

    default: str | None = None
    description: str = Field(min_length=1)
    kind: Literal["url", "text"] = "url"


class SystemApp(_Strict):
    """The variables holding the platform's own OAuth app for this integration."""

    client_id_variable: str = Field(pattern=VARIABLE_NAME)
    client_secret_variable: str = Field(pattern=VARIABLE_NAME)


class RefreshTokens(_Strict):
    """How the provider treats refresh tokens.

    `idle_lifetime_days`: a refresh token unused that long dies (keep-alive refreshes before);
    `reuse_leeway_seconds`: how long a rotated refresh token is still accepted (a retry after a
    timeout may resend it only within it).
    """

    rotating: bool = True
    idle_lifetime_days: int | None = Field(default=None, ge=1, le=3650)
    reuse_leeway_seconds: int = Field(default=0, ge=0, le=86_400)


class OAuth2Provider(_Strict):
    """OAuth 2.0 authorization code grant (RFC 6749 §4.1) with refresh (§6)."""

    auth_mode: Literal["oauth2"]
    idp_name: str = Field(min_length=1, max_length=100)
    authorization_url: str
    token_url: str
    refresh_url: str | None = None
    authorization_params: dict[str, str] = {}
    default_scopes: tuple[str, ...] = Field(min_length=1)
    pkce: bool = True
    token_endpoint_auth_method: Literal["client_secret_post", "client_secret_basic"] = (
        "client_secret_basic"  # noqa: S105 - a method's name, RFC 6749 §2.3.1's default
    )
    refresh_tokens: RefreshTokens = RefreshTokens()
    post_connection: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    api_base_url: str = Field(description="The provider's API root: {{provider.api_base_url}}")
    site_api_base_url: str | None = Field(
        default=None,
        description="A bound site's API root, with {cloud_id}: {{connection.api_base_url}}",
    )
    system_app: SystemApp

    @field_validator("authorization_params")
    @classmethod
    def _not_protocol_parameters(cls, value: dict[str, str]) -> dict[str, str]:
        clash = PROTOCOL_PARAMETERS.intersection(value) | {
            k for k in value if k.startswith("code_")
        }
        if clash:
            raise ValueError(f"may not set protocol parameters {sorted(clash)}")
        return value

    @field_validator("default_scopes")
    @classmethod
    def _plain_scopes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not scope or any(c.isspace() for c in scope) for scope in value):
            raise ValueError("scopes must be non-empty and contain no spaces")
        return value

    def urls(self) -> dict[str, str]:
        """Every URL of the provider, by field name: each must be acceptable once resolved."""
        found = {
            "authorization_url": self.authorization_url,
            "token_url": self.token_url,
            "api_base_url": self.api_base_url,
        }
        if self.refresh_url is not None:
            found["refresh_url"] = self.refresh_url
        if self.site_api_base_url is not None:
            found["site_api_base_url"] = self.site_api_base_url.replace("{cloud_id}", "cloud-id")
        return found


# One member today; the next auth mode is a new model here and a new branch of this union.
Provider = Annotated[OAuth2Provider, Field(discriminator="auth_mode")]


class Manifest(_Strict):
    integration: IntegrationName
    catalog: Catalog
    provider: Provider
    variables: dict[Annotated[str, Field(pattern=VARIABLE_NAME)], Variable] = {}

    @model_validator(mode="after")
    def _placeholders_are_declared(self) -> Manifest:
        used = set(placeholders_in(self.provider.model_dump()))
        undeclared = sorted(used - set(self.variables))
        if undeclared:
            raise ValueError(f"placeholders without a declared variable: {undeclared}")
        return self


def placeholders_in(value: object) -> list[str]:
    """The `${NAME}` placeholders of every string in a JSON-like value, in order."""
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [name for item in value.values() for name in placeholders_in(item)]
    if isinstance(value, list | tuple):
        return [name for item in value for name in placeholders_in(item)]
    return []
