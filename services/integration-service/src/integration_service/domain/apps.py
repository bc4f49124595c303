"""Apps and their editions: which apps exist and whether they may configure integrations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from integration_manifests import Edition
from integration_service.domain.catalog import CatalogEntry
from integration_service.domain.errors import EditionNotSupported


class App(BaseModel):
    model_config = ConfigDict(frozen=True)

    app_id: str
    name: str
    edition: Edition
    created_at: datetime
    updated_at: datetime

    @classmethod
    def register(cls, app_id: str, name: str, edition: Edition, now: datetime) -> App:
        return cls(app_id=app_id, name=name, edition=edition, created_at=now, updated_at=now)

    def change(self, name: str, edition: Edition, now: datetime) -> App:
        """The app renamed or moved to another edition; itself when nothing changes."""
        if self.name == name and self.edition == edition:
            return self
        return self.model_copy(update={"name": name, "edition": edition, "updated_at": now})

    def can_configure(self, entry: CatalogEntry) -> bool:
        return entry.allows(self.edition)

    def require_can_configure(self, entry: CatalogEntry) -> None:
        """New configuration only: a trial app keeps what it has but may add nothing."""
        if not self.can_configure(entry):
            raise EditionNotSupported(
                f"The {self.edition} edition cannot configure {entry.display_name}; "
                f"editions that can: {', '.join(entry.editions)}"
            )
