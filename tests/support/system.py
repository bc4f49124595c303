"""The whole system as separate processes, started once: what the cross-service scenarios and the
benchmarks run against.

RabbitMQ and the MongoDB-compatible server come from `Infra`; the real oidc-provider stands in
for Atlassian's OAuth server and the Atlassian-shaped API beside it; auth-service runs as
`auth_replicas` processes sharing one database and queue, then integration-service and
template-service. Every database and queue carries the run id, and is dropped when the system
stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pymongo import AsyncMongoClient

from devinfra.atlassian_fake import AtlassianFake
from devinfra.idp import IdentityProvider
from devinfra.process import free_port
from integrations_client import NO_RETRIES, IntegrationsClient, ServiceUrls
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
SERVICES = ("auth-service", "integration-service", "template-service", "tool-service")
RETRY_DELAYS_MS = [200, 400]


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

    def env(self, service: str) -> dict[str, str]:
        """What every service of this system is started with (its database, queue, peers)."""
        return service_env(self.infra, self.run_id, service)

    def processes(self) -> list[ServiceProcess]:
        return [*self.auth, self.integration, self.template]

    def all_logs(self) -> str:
        return "\n".join(p.log_text() for p in self.processes())

    def urls(self, auth_url: str | None = None) -> ServiceUrls:
        return ServiceUrls(auth_url or self.auth_url, self.integration.url, self.template.url)

    def client(
        self, session: aiohttp.ClientSession | None = None, *, auth_url: str | None = None
    ) -> IntegrationsClient:
        """The typed client of this system's services (`auth_url`: another auth replica's).

        It sends through `session` when given (the caller closes it), else through its own
        (closed with the client). No retries: a scenario sees each answer as it was given.
        """
        return IntegrationsClient.with_secret(
            self.urls(auth_url), TEST_JWT_SECRET, subject="e2e", session=session, retry=NO_RETRIES
        )


def service_env(infra: Infra, run_id: str, service: str) -> dict[str, str]:
    return {
        "MONGODB_URL": infra.mongodb_url,
        "AMQP_URL": infra.amqp_url,
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "MONGODB_DATABASE": f"e2e_{run_id}_{service.replace('-', '_')}",
        "EVENT_QUEUE": f"e2e.{run_id}.{service}.events",
        "EVENT_RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
    }


@contextlib.asynccontextmanager
async def running_system(
    infra: Infra,
    logs: Path,
    *,
    auth_replicas: int = 2,
    extra_env: Mapping[str, Mapping[str, str]] | None = None,
) -> AsyncIterator[System]:
    """The system, up and ready; `extra_env` adds settings per service name."""
    extra = extra_env or {}
    run_id = uuid.uuid4().hex[:8]
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
        **service_env(infra, run_id, "auth-service"),
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
        **extra.get("auth-service", {}),
    }
    replicas = [
        ServiceProcess(
            "auth_service",
            {**auth_env, "PORT": str(auth_port)} if index == 0 else auth_env,
            logs / f"auth-{index + 1}.log",
        )
        for index in range(auth_replicas)
    ]
    auth_url = replicas[0].url
    integration = ServiceProcess(
        "integration_service",
        {
            **service_env(infra, run_id, "integration-service"),
            "AUTH_SERVICE_URL": auth_url,
            **extra.get("integration-service", {}),
        },
        logs / "integration.log",
    )
    template = ServiceProcess(
        "template_service",
        {
            **service_env(infra, run_id, "template-service"),
            "AUTH_SERVICE_URL": auth_url,
            "ATLASSIAN_API_BASE_URL": atlassian.base_url,
            "ALLOW_INSECURE_PROVIDER_URLS": "true",
            "PROVIDER_BACKOFF_SECONDS": "0.05",
            **extra.get("template-service", {}),
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
        await _drop(infra, run_id)


async def _drop(infra: Infra, run_id: str) -> None:
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url)
    try:
        for service in SERVICES:
            await client.drop_database(f"e2e_{run_id}_{service.replace('-', '_')}")
            queue = f"e2e.{run_id}.{service}.events"
            retries = [f"{queue}.retry.{n}" for n in range(1, len(RETRY_DELAYS_MS) + 1)]
            await delete_queues(infra.amqp_url, [queue, f"{queue}.dlq", *retries])
    finally:
        await client.close()
