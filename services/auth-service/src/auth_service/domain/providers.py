"""Providers as data: the provider file's schema, validated at start-up into `ProviderSpec`s.

A provider entry says where to authorize and exchange tokens, which extra authorization
parameters it needs, its default scopes, whether PKCE is on, the environment variables that hold
its system OAuth client, an optional named post-connection hook (finding the Atlassian site), and
its API base URL template. `${NAME}` placeholders are filled from settings when loaded;
`{cloud_id}` stays until a site is bound. Adding an integration is a new entry, plus at most a
new hook name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from auth_service.domain.urls import check_provider_url
from platform_core.contract_types import IntegrationName

KNOWN_HOOKS = frozenset({"atlassian_accessible_resources"})
PLACEHOLDER = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class ProviderFileError(ValueError):
    """The provider file cannot be used; the service refuses to start."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SystemClient(_Strict):
    client_id_variable: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")
    client_secret_variable: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$")


class PostConnection(_Strict):
    hook: str
    url: str

    @field_validator("hook")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in KNOWN_HOOKS:
            raise ValueError(f"unknown hook {value!r}; known: {sorted(KNOWN_HOOKS)}")
        return value


class ProviderSpec(_Strict):
    integration: IntegrationName
    display_name: str = Field(min_length=1)
    idp_name: str = Field(min_length=1)
    auth_mode: Literal["oauth2"]
    authorization_url: str
    token_url: str
    refresh_url: str | None = None
    authorization_params: dict[str, str] = {}
    default_scopes: list[str] = Field(min_length=1)
    pkce: bool = True
    system_client: SystemClient
    post_connection: PostConnection | None = None
    api_base_url: str | None = None

    @field_validator("authorization_params")
    @classmethod
    def _not_protocol_params(cls, value: dict[str, str]) -> dict[str, str]:
        reserved = {"response_type", "client_id", "redirect_uri", "scope", "state"}
        clash = reserved.intersection(value) | {k for k in value if k.startswith("code_")}
        if clash:
            raise ValueError(f"may not set protocol parameters {sorted(clash)}")
        return value

    def api_base_for(self, cloud_id: str) -> str | None:
        if self.api_base_url is None:
            return None
        return self.api_base_url.replace("{cloud_id}", cloud_id)


class ProviderFile(_Strict):
    providers: list[ProviderSpec] = Field(min_length=1)


def _fill(text: str, variable: Callable[[str], str | None]) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = variable(match.group(1))
        if value is None:
            raise ProviderFileError(f"placeholder ${{{match.group(1)}}} has no value")
        return value

    return PLACEHOLDER.sub(substitute, text)


def parse_providers(
    raw: str, variable: Callable[[str], str | None], *, allow_insecure: bool
) -> Mapping[str, ProviderSpec]:
    """Validate the provider file; every URL must be acceptable (see `check_provider_url`)."""
    try:
        document = json.loads(raw)
        parsed = ProviderFile.model_validate(_fill_all(document, variable))
    except (json.JSONDecodeError, ValidationError) as exc:
        raise ProviderFileError(f"invalid provider file: {exc}") from None
    catalog: dict[str, ProviderSpec] = {}
    for spec in parsed.providers:
        if spec.integration in catalog:
            raise ProviderFileError(f"integration {spec.integration!r} is listed twice")
        urls = [spec.authorization_url, spec.token_url, spec.refresh_url]
        urls += [spec.post_connection.url if spec.post_connection else None]
        urls += [spec.api_base_for("cloud-id")]
        for url in urls:
            if url is None:
                continue
            try:
                check_provider_url(url, allow_insecure=allow_insecure)
            except ValueError as exc:
                raise ProviderFileError(f"{spec.integration}: {url!r} {exc}") from None
        catalog[spec.integration] = spec
    return catalog


def _fill_all(value: object, variable: Callable[[str], str | None]) -> object:
    if isinstance(value, str):
        return _fill(value, variable)
    if isinstance(value, list):
        return [_fill_all(item, variable) for item in value]
    if isinstance(value, dict):
        return {key: _fill_all(item, variable) for key, item in value.items()}
    return value
