"""Authorization profiles: the system profile of each integration and custom OAuth 2.0 profiles.

A profile resolves to an `OAuthClient`: everything the browser dance and the refresh path need
(client credentials, URLs, scopes, and the integration's provider for its extra parameters,
PKCE, client authentication and hooks). Custom profiles are validated here (URL rules of
contract §2); a change of where secrets are sent needs the secret again (`ClientSecretRequired`);
the secret never leaves the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from auth_service.domain.errors import ClientSecretRequired
from auth_service.domain.providers import Provider
from auth_service.domain.secrets import Secret
from auth_service.domain.urls import check_provider_url
from platform_core.contract_types import CustomProfileRef, ProfileRef, SystemProfileRef

URL_FIELDS = ("authorization_url", "token_url", "refresh_url")
# Changing any of these changes where the secret (and every bound refresh token) is sent.
SECRET_BOUND_FIELDS = (*URL_FIELDS, "client_id")


def system_profile_id(integration: str) -> str:
    return f"system:{integration}"


@dataclass(frozen=True)
class OAuthClient:
    """A profile made concrete: who we are at the provider and where to talk to it."""

    profile: ProfileRef
    client_id: str
    client_secret: Secret
    authorization_url: str
    token_url: str
    refresh_url: str
    scopes: tuple[str, ...]
    callback_url: str
    provider: Provider

    @property
    def authorization_params(self) -> Mapping[str, str]:
        return self.provider.oauth.authorization_params

    @property
    def pkce(self) -> bool:
        return self.provider.oauth.pkce

    @property
    def auth_method(self) -> str:
        return self.provider.oauth.token_endpoint_auth_method


@dataclass(frozen=True)
class SystemProfile:
    profile_id: str
    integration: str
    idp_name: str
    scopes: tuple[str, ...]
    callback_url: str
    available: bool


def system_profile(provider: Provider, callback_url: str) -> SystemProfile:
    return SystemProfile(
        profile_id=system_profile_id(provider.integration),
        integration=provider.integration,
        idp_name=provider.oauth.idp_name,
        scopes=provider.oauth.default_scopes,
        callback_url=callback_url,
        available=provider.system_app is not None,
    )


def system_client(provider: Provider, callback_url: str) -> OAuthClient | None:
    """The system profile's client, or None when its OAuth app is not configured."""
    app = provider.system_app
    if app is None:
        return None
    return OAuthClient(
        profile=SystemProfileRef(),
        client_id=app.client_id,
        client_secret=Secret.of(app.client_secret.get_secret_value()),
        authorization_url=provider.oauth.authorization_url,
        token_url=provider.oauth.token_url,
        refresh_url=provider.refresh_url,
        scopes=provider.oauth.default_scopes,
        callback_url=callback_url,
        provider=provider,
    )


class CustomProfile(BaseModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    profile_id: str
    app_id: str
    name: str
    integration: str
    idp_name: str
    client_id: str
    client_secret: Secret | None
    authorization_url: str
    token_url: str
    refresh_url: str | None = None  # None: follows token_url, even when that changes
    scopes: tuple[str, ...]
    callback_url: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None

    @property
    def ref(self) -> CustomProfileRef:
        return CustomProfileRef(profile_id=self.profile_id)

    @property
    def effective_refresh_url(self) -> str:
        return self.refresh_url or self.token_url

    def patched(self, changes: Mapping[str, Any], now: datetime) -> CustomProfile:
        """The profile with `changes` applied; refuses to move where the secret goes (or whose
        secret it is) without the secret in the same change."""
        current = {n: getattr(self, n) for n in SECRET_BOUND_FIELDS}
        current["refresh_url"] = self.effective_refresh_url  # where refreshes go today
        moved = [
            name
            for name in SECRET_BOUND_FIELDS
            if name in changes and changes[name] != current[name]
        ]
        if moved and changes.get("client_secret") is None:
            raise ClientSecretRequired(
                f"Changing {', '.join(moved)} needs client_secret in the same request"
            )
        return self.model_copy(update={**changes, "updated_at": now})

    def deleted(self, now: datetime) -> CustomProfile:
        return self.model_copy(update={"deleted_at": now, "client_secret": None, "updated_at": now})

    def client(self, provider: Provider) -> OAuthClient | None:
        if self.client_secret is None or self.deleted_at is not None:
            return None
        return OAuthClient(
            profile=self.ref,
            client_id=self.client_id,
            client_secret=self.client_secret,
            authorization_url=self.authorization_url,
            token_url=self.token_url,
            refresh_url=self.effective_refresh_url,
            scopes=self.scopes,
            callback_url=self.callback_url,
            provider=provider,
        )


def url_problems(urls: Mapping[str, str | None], *, allow_insecure: bool) -> list[dict[str, str]]:
    """One validation error per unacceptable URL field (contract §2's rules)."""
    problems = []
    for name, url in urls.items():
        if url is None:
            continue
        try:
            check_provider_url(url, allow_insecure=allow_insecure)
        except ValueError as exc:
            problems.append(
                {"field": name, "location": "body", "message": str(exc), "type": "url_rejected"}
            )
    return problems


def scope_problems(scopes: Sequence[str]) -> list[dict[str, str]]:
    if scopes and all(s and not any(c.isspace() for c in s) for s in scopes):
        return []
    message = "must be a non-empty list of scopes without spaces"
    return [{"field": "scopes", "location": "body", "message": message, "type": "scopes"}]
