"""The integration catalog: each integration's entry, as its manifest declares it.

The entries come from the integration folders (`integration_manifests`): adding an integration
adds a folder, not code. `Catalog` answers lookups and edition questions for the other layers.
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import Field

from integration_manifests import Edition, Integrations
from platform_core.contract_types import AuthorizationType, ContractModel, IntegrationName


class CatalogEntry(ContractModel):
    integration: IntegrationName
    display_name: str = Field(min_length=1)
    category: str
    authorization_types: tuple[AuthorizationType, ...] = Field(min_length=1)
    default_scopes: tuple[str, ...] = Field(min_length=1)
    editions: tuple[Edition, ...] = Field(min_length=1)

    def allows(self, edition: str) -> bool:
        return edition in self.editions


class Catalog:
    def __init__(self, entries: tuple[CatalogEntry, ...]) -> None:
        self._entries = {entry.integration: entry for entry in entries}
        if len(self._entries) != len(entries):
            raise ValueError("the catalog names an integration twice")

    @classmethod
    def of(cls, integrations: Integrations) -> Catalog:
        return cls(
            tuple(
                CatalogEntry(
                    integration=spec.name,
                    display_name=spec.manifest.catalog.display_name,
                    category=spec.manifest.catalog.category,
                    authorization_types=spec.manifest.catalog.authorization_types,
                    default_scopes=spec.manifest.provider.default_scopes,
                    editions=spec.manifest.catalog.editions,
                )
                for spec in integrations
            )
        )

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.integration))

    def get(self, integration: str) -> CatalogEntry | None:
        return self._entries.get(integration)
