"""Each service runs as its own process, answers its probes and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from pathlib import Path

import aiohttp
import pytest

from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.mongo, pytest.mark.broker]

SERVICES = [
    ("auth_service", "auth-service"),
    ("integration_service", "integration-service"),
    ("template_service", "template-service"),
]


@pytest.mark.parametrize(("module", "service"), SERVICES)
async def test_a_service_starts_answers_its_probes_and_stops_cleanly_on_sigterm(
    module: str,
    service: str,
    service_env: Callable[[str], dict[str, str]],
    extra_service_env: Callable[[str], dict[str, str]],
    tmp_path: Path,
) -> None:
    process = ServiceProcess(
        module, {**service_env(service), **extra_service_env(service)}, tmp_path / "service.log"
    )
    await process.start()
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{process.url}/healthz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok", "checks": {}}
            async with session.get(f"{process.url}/readyz") as response:
                assert response.status == 200
                assert (await response.json())["checks"] == {"mongodb": True, "rabbitmq": True}
            async with session.get(f"{process.url}/openapi.json") as response:
                assert (await response.json())["info"]["title"] == service
    finally:
        returncode = await process.stop(signal.SIGTERM)

    assert returncode == 0
    lines = [json.loads(line) for line in process.log_text().splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert "outbox_flushed" in events
    assert events[-1] == "stopped"
    assert not [line for line in lines if line["level"] in {"error", "critical"}]
    assert all(line["service"] == service for line in lines)
