"""The providers auth-service talks to: each integration's manifest `provider` part, made usable.

`Provider` pairs an integration's OAuth 2.0 settings (from its manifest, placeholders filled)
with its display name and the platform's own OAuth app for it, when one is configured. `of`
checks every URL against the URL rules (so a manifest pointing at plain http refuses to start
unless insecure URLs are allowed); hook names are checked by the composition root, which knows
the registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from auth_service.domain.urls import check_provider_url
from integration_manifests import IntegrationSpec, OAuth2Provider, SystemAppCredentials
from platform_core.errors import IntegrationNotFound


class ProviderRefusedAtStartUp(ValueError):
    """An integration's provider cannot be used as declared; the service refuses to start."""


@dataclass(frozen=True)
class Provider:
    integration: str
    display_name: str
    oauth: OAuth2Provider
    system_app: SystemAppCredentials | None

    @classmethod
    def of(cls, spec: IntegrationSpec, *, allow_insecure: bool) -> Provider:
        oauth = spec.manifest.provider
        for field, url in oauth.urls().items():
            try:
                check_provider_url(url, allow_insecure=allow_insecure)
            except ValueError as exc:
                raise ProviderRefusedAtStartUp(
                    f"{spec.name}: provider.{field} {url!r} {exc}"
                ) from None
        return cls(spec.name, spec.manifest.catalog.display_name, oauth, spec.system_app)

    @property
    def refresh_url(self) -> str:
        return self.oauth.refresh_url or self.oauth.token_url

    def site_api_base_for(self, cloud_id: str) -> str | None:
        template = self.oauth.site_api_base_url
        return template.replace("{cloud_id}", cloud_id) if template is not None else None


class Providers:
    """Every integration's provider, by name."""

    def __init__(self, providers: list[Provider]) -> None:
        self._providers = {provider.integration: provider for provider in providers}

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    def get(self, integration: str) -> Provider:
        provider = self._providers.get(integration)
        if provider is None:
            raise IntegrationNotFound(f"No integration named {integration!r}")
        return provider

    def system_client_ids(self) -> frozenset[str]:
        return frozenset(p.system_app.client_id for p in self if p.system_app is not None)
