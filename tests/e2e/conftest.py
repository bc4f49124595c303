"""The whole system as separate processes (`tests.support.system`): what the cross-service
scenarios run against, started once for the package; each scenario uses its own app ids.
tool-service is started beside it for the scenarios that ask for it.

A scenario talks to the services through `api`, the typed client (`integrations_client`), and
consents through `browser`, an aiohttp session of its own that plays a person's browser.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from devinfra.process import free_port
from integrations_client import IntegrationsClient
from tests.support.infra import Infra
from tests.support.processes import ServiceProcess, delete_queues
from tests.support.system import (
    CUSTOM_CLIENT_ID,
    CUSTOM_CLIENT_SECRET,
    SITES,
    SYSTEM_CLIENT_ID,
    SYSTEM_CLIENT_SECRET,
    System,
    running_system,
)

__all__ = [
    "CUSTOM_CLIENT_ID",
    "CUSTOM_CLIENT_SECRET",
    "SITES",
    "SYSTEM_CLIENT_ID",
    "SYSTEM_CLIENT_SECRET",
    "System",
]

TOOL_SERVICE = "tool-service"
TOOL_REPLICA = "e2e"


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A fresh browser (its own cookie jar) per scenario."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


@pytest.fixture
async def api(system: System) -> AsyncIterator[IntegrationsClient]:
    """The typed client of the system's services, with a session of its own."""
    async with system.client() as client:
        yield client


@pytest.fixture(scope="package")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with running_system(infra, tmp_path_factory.mktemp("e2e")) as started:
        yield started


@pytest.fixture(scope="package")
async def tool_service(system: System) -> AsyncIterator[ServiceProcess]:
    """tool-service (contract §3 "Tools") as a process beside the system: its own port and public
    origin, template-service to call, auth-service named as the MCP authorization server."""
    port = free_port()
    env = {
        **system.env(TOOL_SERVICE),
        "PORT": str(port),
        "TEMPLATE_SERVICE_URL": system.template.url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MCP_AUTHORIZATION_SERVERS": system.auth_url,
        "CONSENT_POLL_SECONDS": "0.5",
        "REPLICA_ID": TOOL_REPLICA,
    }
    process = ServiceProcess("tool_service", env, system.logs_dir / "tool.log")
    await process.start()
    try:
        yield process
    finally:
        with contextlib.suppress(Exception):
            await process.stop()
        queue = system.queue(TOOL_SERVICE)
        await delete_queues(system.infra.amqp_url, [f"{queue}.{TOOL_REPLICA}", f"{queue}.dlq"])
