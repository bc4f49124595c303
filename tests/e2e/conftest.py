"""The whole system as separate processes: what the cross-service scenarios run against.

RabbitMQ and the MongoDB-compatible server (as for every tier), the real oidc-provider standing
in for Atlassian's OAuth server, the Atlassian-shaped API, auth-service as two replicas sharing
one database and queue, integration-service and template-service. Started once for the package;
each scenario uses its own app ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from pymongo import AsyncMongoClient

from devinfra.atlassian_fake import AtlassianFake
from devinfra.idp import IdentityProvider
from devinfra.platform_client import PlatformClient, ServiceUrls
from devinfra.process import free_port
from platform_core.mongo import Document
from platform_core.service_auth import Scope, mint_token
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET, Infra
from tests.support.processes import ServiceProcess, delete_queues

SYSTEM_CLIENT_ID = "e2e-system-app"
SYSTEM_CLIENT_SECRET = "e2e-system-secret-value"
CUSTOM_CLIENT_ID = "e2e-custom-app"
CUSTOM_CLIENT_SECRET = "e2e-custom-secret-value"
SITES = [
    {
        "id": "aaaaaaaa-0000-4000-8000-000000000001",
        "name": "acme",
        "url": "https://acme.atlassian.net",
    },
    {
        "id": "bbbbbbbb-0000-4000-8000-000000000002",
        "name": "globex",
        "url": "https://globex.atlassian.net",
    },
]
SERVICES = ("auth-service", "integration-service", "template-service")


@dataclass
class System:
    run_id: str
    infra: Infra
    idp: IdentityProvider
    atlassian: AtlassianFake
    auth: list[ServiceProcess]
    integration: ServiceProcess
    template: ServiceProcess
    logs_dir: Path

    @property
    def auth_url(self) -> str:
        return self.auth[0].url

    def token(self, scopes: tuple[Scope, ...] = (Scope.READ, Scope.WRITE)) -> str:
        return mint_token(TEST_JWT_SECRET, "e2e", scopes)

    def headers(self, *scopes: Scope) -> dict[str, str]:
        chosen = scopes or (Scope.READ, Scope.WRITE)
        return {"Authorization": f"Bearer {self.token(chosen)}"}

    def database(self, service: str) -> str:
        return f"e2e_{self.run_id}_{service.replace('-', '_')}"

    def queue(self, service: str) -> str:
        return f"e2e.{self.run_id}.{service}.events"

    def processes(self) -> list[ServiceProcess]:
        return [*self.auth, self.integration, self.template]

    def all_logs(self) -> str:
        return "\n".join(p.log_text() for p in self.processes())

    def client(self, session: aiohttp.ClientSession, auth_url: str | None = None) -> PlatformClient:
        urls = ServiceUrls(auth_url or self.auth_url, self.integration.url, self.template.url)
        return PlatformClient(session, urls, TEST_JWT_SECRET)


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A fresh browser (its own cookie jar) per scenario."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
def client(system: System, browser: aiohttp.ClientSession) -> PlatformClient:
    return system.client(browser)


def _env(system_infra: Infra, run_id: str, service: str) -> dict[str, str]:
    return {
        "MONGODB_URL": system_infra.mongodb_url,
        "AMQP_URL": system_infra.amqp_url,
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "MONGODB_DATABASE": f"e2e_{run_id}_{service.replace('-', '_')}",
        "EVENT_QUEUE": f"e2e.{run_id}.{service}.events",
        "EVENT_RETRY_DELAYS_MS": "[200, 400]",
    }


@pytest.fixture(scope="package")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    run_id = uuid.uuid4().hex[:8]
    logs = tmp_path_factory.mktemp("e2e")
    auth_port = free_port()
    public_base_url = f"http://127.0.0.1:{auth_port}"
    callback = f"{public_base_url}/oauth/callback"
    idp = IdentityProvider(
        logs,
        free_port(),
        [
            {
                "client_id": SYSTEM_CLIENT_ID,
                "client_secret": SYSTEM_CLIENT_SECRET,
                "redirect_uris": [callback],
            },
            {
                "client_id": CUSTOM_CLIENT_ID,
                "client_secret": CUSTOM_CLIENT_SECRET,
                "redirect_uris": [callback],
            },
        ],
        name=f"idp-{run_id}",
    )
    await asyncio.to_thread(idp.start)
    atlassian = AtlassianFake(idp.base_url, SITES)
    await atlassian.start()
    auth_env = {
        **_env(infra, run_id, "auth-service"),
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "PUBLIC_BASE_URL": public_base_url,
        "CONFLUENCE_CLIENT_ID": SYSTEM_CLIENT_ID,
        "CONFLUENCE_CLIENT_SECRET": SYSTEM_CLIENT_SECRET,
        # One Atlassian OAuth app may serve both products, as the platform's does.
        "JIRA_CLIENT_ID": SYSTEM_CLIENT_ID,
        "JIRA_CLIENT_SECRET": SYSTEM_CLIENT_SECRET,
        "ATLASSIAN_AUTH_BASE_URL": idp.base_url,
        "ATLASSIAN_API_BASE_URL": atlassian.base_url,
        "ALLOW_INSECURE_PROVIDER_URLS": "true",
        "RETURN_URL_ALLOWLIST": "http://127.0.0.1:1/return",
    }
    replicas = [
        ServiceProcess("auth_service", {**auth_env, "PORT": str(auth_port)}, logs / "auth-1.log"),
        ServiceProcess("auth_service", auth_env, logs / "auth-2.log"),
    ]
    auth_url = replicas[0].url
    integration = ServiceProcess(
        "integration_service",
        {**_env(infra, run_id, "integration-service"), "AUTH_SERVICE_URL": auth_url},
        logs / "integration.log",
    )
    template = ServiceProcess(
        "template_service",
        {
            **_env(infra, run_id, "template-service"),
            "AUTH_SERVICE_URL": auth_url,
            "ATLASSIAN_API_BASE_URL": atlassian.base_url,
            "ALLOW_INSECURE_PROVIDER_URLS": "true",
            "PROVIDER_BACKOFF_SECONDS": "0.05",
        },
        logs / "template.log",
    )
    started: list[ServiceProcess] = []
    try:
        for process in (*replicas, integration, template):
            await process.start()
            started.append(process)
        yield System(run_id, infra, idp, atlassian, replicas, integration, template, logs)
    finally:
        for process in reversed(started):
            with contextlib.suppress(Exception):
                await process.stop()
        await atlassian.stop()
        await asyncio.to_thread(idp.stop)
        client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url)
        for service in SERVICES:
            await client.drop_database(f"e2e_{run_id}_{service.replace('-', '_')}")
            queue = f"e2e.{run_id}.{service}.events"
            await delete_queues(
                infra.amqp_url, [queue, f"{queue}.dlq", f"{queue}.retry.1", f"{queue}.retry.2"]
            )
        await client.close()
