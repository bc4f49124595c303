"""The three services as background processes for `make run`, each on its own port.

Each is `python -m <package>` with the stack's environment; `up` waits until its `/readyz`
answers 200 and reuses one that already runs from an earlier `up`.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from devinfra.process import StartupError, read_pid, spawn, stop

READY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    port_variable: str
    default_port: int
    url_variable: str

    def port(self, env: Mapping[str, str]) -> int:
        return int(env.get(self.port_variable) or self.default_port)


SERVICES = (
    Service("auth-service", "auth_service", "AUTH_SERVICE_PORT", 8081, "AUTH_SERVICE_URL"),
    Service(
        "integration-service",
        "integration_service",
        "INTEGRATION_SERVICE_PORT",
        8082,
        "INTEGRATION_SERVICE_URL",
    ),
    Service(
        "template-service",
        "template_service",
        "TEMPLATE_SERVICE_PORT",
        8083,
        "TEMPLATE_SERVICE_URL",
    ),
)


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def service_urls(env: Mapping[str, str]) -> dict[str, str]:
    return {s.url_variable: f"http://127.0.0.1:{s.port(env)}" for s in SERVICES}


def start_services(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    urls = service_urls(env)
    shared = {**env, **urls}
    for service in SERVICES:
        url = urls[service.url_variable]
        if read_pid(state_dir / f"{service.name}.pid") is None:
            process_env = {**shared, "PORT": str(service.port(env)), "HOST": "127.0.0.1"}
            spawn(service.name, [sys.executable, "-m", service.module], state_dir, process_env)
        _wait_ready(service, url, state_dir)
    return urls


def _wait_ready(service: Service, url: str, state_dir: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if _ready(url):
            return
        if read_pid(state_dir / f"{service.name}.pid") is None:
            break
        time.sleep(0.2)
    raise StartupError(
        f"{service.name} is not ready at {url}; see {state_dir / (service.name + '.log')}"
    )


def stop_services(state_dir: Path) -> bool:
    stopped = [stop(service.name, state_dir) for service in reversed(SERVICES)]
    return any(stopped)


def describe_services(state_dir: Path, env: Mapping[str, str]) -> str:
    urls = service_urls(env)
    return ", ".join(
        f"{s.name} {urls[s.url_variable]} {'ready' if _ready(urls[s.url_variable]) else 'down'}"
        for s in SERVICES
    )
