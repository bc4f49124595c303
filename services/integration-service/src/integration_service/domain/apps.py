"""Apps and their editions: which apps exist and whether they may configure integrations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from integration_service.domain.catalog import CatalogEntry, Edition
from integration_service.domain.errors import EditionNotSupported


class App(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    name: str
    edition: Edition
    created_at: datetime
    updated_at: datetime

    def can_configure(self, entry: CatalogEntry) -> bool:
        return entry.allows(self.edition)

    def require_can_configure(self, entry: CatalogEntry) -> None:
        """New configuration only: a trial app keeps what it has but may add nothing."""
        if not self.can_configure(entry):
            raise EditionNotSupported(
                f"The {self.edition} edition cannot configure {entry.display_name}; "
                f"editions that can: {', '.join(entry.editions)}"
            )
