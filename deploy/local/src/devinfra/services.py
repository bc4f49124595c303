"""The four services as background processes for `make run`, each on its own port.

Each is `python -m <package>` with the stack's environment; `up` waits until its `/readyz`
answers 200 and reuses one that already runs from an earlier `up`. Each gets its own
MONGODB_DATABASE (and, on a shared broker, EVENT_QUEUE): the service's own name behind the
prefix `devinfra.stack` chose for this checkout (empty on servers the checkout started).
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from devinfra.process import StartupError, read_pid, spawn, stop

READY_TIMEOUT_SECONDS = 60.0
# Set by devinfra.stack (which imports this module, so the names are repeated, not imported).
DATABASE_PREFIX = "DEVINFRA_DATABASE_PREFIX"
QUEUE_PREFIX = "DEVINFRA_QUEUE_PREFIX"


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    port_variable: str
    default_port: int
    url_variable: str
    # (the stack's environment, every service's URL) -> variables for this service alone
    own_env: Callable[[Mapping[str, str], Mapping[str, str]], dict[str, str]] | None = None

    def port(self, env: Mapping[str, str]) -> int:
        return int(env.get(self.port_variable) or self.default_port)

    @property
    def database(self) -> str:
        """The database the service names itself (platform_core's `database_name`)."""
        return self.name.replace("-", "_")

    @property
    def queue(self) -> str:
        return f"{self.name}.events"


def _tool_service_env(env: Mapping[str, str], urls: Mapping[str, str]) -> dict[str, str]:
    """Its own public origin (the MCP resource is `{PUBLIC_BASE_URL}/mcp`; the stack's
    PUBLIC_BASE_URL is auth-service's) and auth-service as the authorization server its RFC 9728
    metadata names, unless given."""
    return {
        "PUBLIC_BASE_URL": env.get("TOOL_SERVICE_PUBLIC_BASE_URL") or urls["TOOL_SERVICE_URL"],
        "MCP_AUTHORIZATION_SERVERS": env.get("MCP_AUTHORIZATION_SERVERS")
        or urls["AUTH_SERVICE_URL"],
    }


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
    Service(
        "tool-service",
        "tool_service",
        "TOOL_SERVICE_PORT",
        8084,
        "TOOL_SERVICE_URL",
        _tool_service_env,
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


def service_environment(service: Service, env: Mapping[str, str]) -> dict[str, str]:
    """The environment `service` runs with: the stack's, its port, its own database and queue."""
    urls = service_urls(env)
    process_env = {
        **env,
        **urls,
        **(service.own_env(env, urls) if service.own_env is not None else {}),
        "PORT": str(service.port(env)),
        "HOST": "127.0.0.1",
        "MONGODB_DATABASE": f"{env.get(DATABASE_PREFIX, '')}{service.database}",
    }
    if env.get(QUEUE_PREFIX):
        process_env["EVENT_QUEUE"] = f"{env[QUEUE_PREFIX]}{service.queue}"
    return process_env


def start_services(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    urls = service_urls(env)
    for service in SERVICES:
        url = urls[service.url_variable]
        if read_pid(state_dir / f"{service.name}.pid") is None:
            process_env = service_environment(service, env)
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
