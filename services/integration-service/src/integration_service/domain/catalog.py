"""The integration catalog, as data: adding an integration is adding an entry here.

`CATALOG` is validated when this module is imported (so a bad entry stops the service from
starting), and `Catalog` answers lookups and edition questions for the other layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field

from platform_core.contract_types import AuthorizationType, ContractModel, IntegrationName

Edition = Literal["developer", "enterprise", "trial"]


class CatalogEntry(ContractModel):
    integration: IntegrationName
    display_name: str = Field(min_length=1)
    category: Literal["actions"]
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

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(sorted(self._entries.values(), key=lambda e: e.integration))

    def get(self, integration: str) -> CatalogEntry | None:
        return self._entries.get(integration)


CATALOG = Catalog(
    (
        CatalogEntry(
            integration="confluence",
            display_name="Confluence",
            category="actions",
            authorization_types=("pre_authorize", "user_authorize"),
            default_scopes=("write:confluence-content", "offline_access"),
            editions=("developer", "enterprise"),
        ),
    )
)
