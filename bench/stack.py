"""The system under test for the service benchmarks, and the apps they set up in it.

Every service as its own process (`tests.support.system.running_system`: the real oidc-provider,
the Atlassian stand-in, two auth-service replicas, integration-service, template-service), on
the real RabbitMQ and MongoDB-compatible server, logging at WARNING as in the auth benchmark.
"""

from __future__ import annotations

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.support.infra import ensure_infra
from tests.support.system import SERVICES, SITES, System, running_system

QUIET = {service: {"LOG_LEVEL": "WARNING"} for service in SERVICES}
SITE_ID = SITES[0]["id"]


@contextlib.asynccontextmanager
async def system(prefix: str) -> AsyncIterator[tuple[System, Path]]:
    """The running system and a scratch folder (its logs) that lives as long as it."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{prefix}-") as scratch:
        logs = Path(scratch)
        async with running_system(ensure_infra(), logs, extra_env=QUIET) as running:
            yield running, logs


def browser() -> aiohttp.ClientSession:
    """A session that keeps cookies for IP hosts, as the consent flow needs."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def new_app_id(prefix: str = "bench") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
