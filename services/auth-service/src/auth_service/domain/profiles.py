"""Authorization profiles: the system profile of each integration and custom OAuth 2.0 profiles.

A profile resolves to an `OAuthClient`: everything the browser dance and the refresh path need
(client credentials, URLs, scopes, the provider's extra parameters and hook). Custom profiles
are validated here (URL rules of contract §2); the secret never leaves the service.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from auth_service.domain.providers import PostConnection, ProviderSpec
from auth_service.domain.urls import check_provider_url
from platform_core.contract_types import CustomProfileRef, ProfileRef, SystemProfileRef

MAX_CLIENT_FIELD = 255


def system_profile_id(integration: str) -> str:
    return f"system:{integration}"


@dataclass(frozen=True)
class OAuthClient:
    """A profile made concrete: who we are at the provider and where to talk to it."""

    profile: ProfileRef
    client_id: str
    client_secret: str
    authorization_url: str
    token_url: str
    refresh_url: str
    scopes: tuple[str, ...]
    callback_url: str
    provider: ProviderSpec

    @property
    def authorization_params(self) -> Mapping[str, str]:
        return self.provider.authorization_params

    @property
    def pkce(self) -> bool:
        return self.provider.pkce

    @property
    def post_connection(self) -> PostConnection | None:
        return self.provider.post_connection


@dataclass(frozen=True)
class CustomProfile:
    profile_id: str
    app_id: str
    name: str
    integration: str
    idp_name: str
    client_id: str
    authorization_url: str
    token_url: str
    refresh_url: str
    scopes: tuple[str, ...]
    callback_url: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = False

    @property
    def ref(self) -> CustomProfileRef:
        return CustomProfileRef(profile_id=self.profile_id)

    def client(self, client_secret: str, provider: ProviderSpec) -> OAuthClient:
        return OAuthClient(
            profile=self.ref,
            client_id=self.client_id,
            client_secret=client_secret,
            authorization_url=self.authorization_url,
            token_url=self.token_url,
            refresh_url=self.refresh_url,
            scopes=self.scopes,
            callback_url=self.callback_url,
            provider=provider,
        )


def system_client(
    provider: ProviderSpec, client_id: str | None, client_secret: str | None, callback_url: str
) -> OAuthClient | None:
    """The system profile, or None when its client id or secret is not configured."""
    if not client_id or not client_secret:
        return None
    return OAuthClient(
        profile=SystemProfileRef(),
        client_id=client_id,
        client_secret=client_secret,
        authorization_url=provider.authorization_url,
        token_url=provider.token_url,
        refresh_url=provider.refresh_url or provider.token_url,
        scopes=tuple(provider.default_scopes),
        callback_url=callback_url,
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
