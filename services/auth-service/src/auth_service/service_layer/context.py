"""What every handler of auth-service works with, built once by the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pymongo.asynchronous.database import AsyncDatabase

from auth_service.adapters.provider_client import ProviderClient
from auth_service.adapters.vault import Vault
from auth_service.domain.providers import ProviderSpec
from auth_service.service_layer.errors import IntegrationNotFound
from auth_service.settings import AuthSettings
from platform_core.mongo import Document
from platform_core.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Context:
    settings: AuthSettings
    providers: Mapping[str, ProviderSpec]
    vault: Vault
    db: AsyncDatabase[Document]
    uow: UnitOfWork
    provider_client: ProviderClient

    def provider(self, integration: str) -> ProviderSpec:
        spec = self.providers.get(integration)
        if spec is None:
            raise IntegrationNotFound(f"No integration named {integration!r}")
        return spec
