"""The local stack: which components `python -m devinfra up` brings up, in order, and where.

Owns the state directory (`$DEVINFRA_STATE_DIR` or `<repo root>/.devinfra`), the ordered
component list, and `infra.env`, the file of URLs that `make run`/`make test` and the test
fixtures read. Each component reuses what already answers and only ever stops what devinfra
itself started.

Also owns where a checkout's services keep their data when it shares a server. Each of
MongoDB and RabbitMQ is either this state directory's own (`started` now, or already
`running` from an earlier `up`) or `external` (MONGODB_URL / AMQP_URL, or a server already
listening on the default port that this state directory did not start, such as another
checkout's). On its own server a checkout uses the plain names (`auth_service`, ...,
`auth-service.events`, ...). On an external one every name gets this state directory's
checkout id, `c` + the first 8 hex digits of the SHA-256 of its resolved path:
`c1a2b3c4d_auth_service` and `c1a2b3c4d.auth-service.events`. So a second checkout never writes
into another checkout's databases nor consumes its queues, and the vault's key check values
refuse the start should two keys under one id ever meet anyway. (The `integrations` exchange
is shared on a shared broker: each checkout's queues also receive the other's events.)
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devinfra import mongodb, rabbitmq
from devinfra.mongodb import describe_mongodb, ensure_mongodb, stop_mongodb
from devinfra.rabbitmq import describe_rabbitmq, ensure_rabbitmq, stop_rabbitmq
from devinfra.secrets import describe_secrets, ensure_secrets, forget_secrets, is_secret
from devinfra.services import (
    DATABASE_PREFIX,
    QUEUE_PREFIX,
    SERVICES,
    describe_services,
    start_services,
    stop_services,
)
from devinfra.standins import describe_standins, start_standins, stop_standins

ENV_FILE = "infra.env"
STATE_DIR_VAR = "DEVINFRA_STATE_DIR"
MONGODB_ORIGIN = "DEVINFRA_MONGODB"
RABBITMQ_ORIGIN = "DEVINFRA_RABBITMQ"

Origin = Literal["started", "running", "external"]


def checkout_id(state_dir: Path) -> str:
    """A short name for one state directory (one checkout), stable across runs."""
    return "c" + hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:8]


def origin_of(url: str, owned_before: str | None, owned_after: str | None) -> Origin:
    """Whether `url` is this state directory's own server, started by this call or before."""
    if owned_after != url:
        return "external"
    return "running" if owned_before == url else "started"


def database_prefix(state_dir: Path, origin: str) -> str:
    return "" if origin in ("started", "running") else f"{checkout_id(state_dir)}_"


def queue_prefix(state_dir: Path, origin: str) -> str:
    return "" if origin in ("started", "running") else f"{checkout_id(state_dir)}."


@dataclass(frozen=True)
class Component:
    """One piece of the stack.

    `up` gets the state dir and the environment so far (process env plus what earlier
    components provided) and returns the variables it provides; `down` returns whether it
    stopped something; `status` gets the same environment and returns one human-readable line.
    """

    name: str
    up: Callable[[Path, Mapping[str, str]], dict[str, str]]
    down: Callable[[Path], bool]
    status: Callable[[Path, Mapping[str, str]], str]


def _mongodb_up(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    before = mongodb.owned_url(state_dir)
    url = ensure_mongodb(state_dir, env.get("MONGODB_URL"))
    origin = origin_of(url, before, mongodb.owned_url(state_dir))
    return {
        "MONGODB_URL": url,
        MONGODB_ORIGIN: origin,
        DATABASE_PREFIX: database_prefix(state_dir, origin),
    }


def _rabbitmq_up(state_dir: Path, env: Mapping[str, str]) -> dict[str, str]:
    before = rabbitmq.owned_url(state_dir)
    url = ensure_rabbitmq(state_dir, env.get("AMQP_URL"))
    origin = origin_of(url, before, rabbitmq.owned_url(state_dir))
    return {"AMQP_URL": url, RABBITMQ_ORIGIN: origin, QUEUE_PREFIX: queue_prefix(state_dir, origin)}


def _mongodb_status(state_dir: Path, env: Mapping[str, str]) -> str:
    line = describe_mongodb(state_dir, env.get("MONGODB_URL"))
    if env.get(DATABASE_PREFIX):
        line += f"; this checkout's databases: {', '.join(database_names(env))}"
    return line


def _rabbitmq_status(state_dir: Path, env: Mapping[str, str]) -> str:
    return describe_rabbitmq(state_dir, env.get("AMQP_URL"))


# Started in this order, stopped in reverse: later components may use earlier ones' variables.
COMPONENTS: list[Component] = [
    Component("mongodb", _mongodb_up, stop_mongodb, _mongodb_status),
    Component("rabbitmq", _rabbitmq_up, stop_rabbitmq, _rabbitmq_status),
    Component("secrets", ensure_secrets, forget_secrets, describe_secrets),
]

# `python -m devinfra up --services` (what `make run` uses) adds the three services on top.
SERVICE_COMPONENTS: list[Component] = [
    Component("atlassian stand-ins", start_standins, stop_standins, describe_standins),
    Component("services", start_services, stop_services, describe_services),
]


WHO_STARTED = {
    "started": "started now by devinfra",
    "running": "started earlier by this checkout's devinfra",
    "external": "not started by this checkout's devinfra",
}


def database_names(env: Mapping[str, str]) -> list[str]:
    prefix = env.get(DATABASE_PREFIX, "")
    return [f"{prefix}{service.database}" for service in SERVICES]


def provision_lines(env: Mapping[str, str]) -> list[str]:
    """What `up` uses, in words: each server, who started it, and this checkout's names."""
    lines = []
    if "MONGODB_URL" in env:
        origin = env.get(MONGODB_ORIGIN, "external")
        lines.append(
            f"MongoDB: {env['MONGODB_URL']} ({WHO_STARTED.get(origin, origin)}); "
            f"databases: {', '.join(database_names(env))}"
        )
    if "AMQP_URL" in env:
        origin = env.get(RABBITMQ_ORIGIN, "external")
        queues = [f"{env.get(QUEUE_PREFIX, '')}{service.queue}" for service in SERVICES]
        lines.append(
            f"RabbitMQ: {_without_password(env['AMQP_URL'])} ({WHO_STARTED.get(origin, origin)}); "
            f"queues: {', '.join(queues)}"
        )
    return lines


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not sep or not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"


def repo_root(start: Path | None = None) -> Path:
    """The nearest directory up from `start` (default: cwd) holding the uv workspace root."""
    origin = (start or Path.cwd()).resolve()
    for directory in (origin, *origin.parents):
        if _is_workspace_root(directory / "pyproject.toml"):
            return directory
    return origin


def _is_workspace_root(pyproject: Path) -> bool:
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return "workspace" in data.get("tool", {}).get("uv", {})


def state_dir() -> Path:
    configured = os.environ.get(STATE_DIR_VAR)
    return Path(configured).resolve() if configured else repo_root() / ".devinfra"


def up(
    state: Path, env: Mapping[str, str] | None = None, with_services: bool = False
) -> dict[str, str]:
    """Ensure every component runs; write and return the variables they provide."""
    known = dict(os.environ if env is None else env)
    provided: dict[str, str] = {}
    for component in COMPONENTS + (SERVICE_COMPONENTS if with_services else []):
        values = component.up(state, known)
        known.update(values)
        provided.update(values)
    write_env_file(state, shareable(provided))
    return provided


def shareable(provided: Mapping[str, str]) -> dict[str, str]:
    """What `up` may print and write to infra.env: every variable but the secrets."""
    return {key: value for key, value in provided.items() if not is_secret(key)}


def down(state: Path) -> list[str]:
    """Stop what devinfra started, last component first; returns the names it stopped."""
    stopped = [c.name for c in reversed(COMPONENTS + SERVICE_COMPONENTS) if c.down(state)]
    (state / ENV_FILE).unlink(missing_ok=True)
    return stopped


def status(state: Path) -> dict[str, str]:
    """One line per component, judged by the URLs `up` last chose (else the process env)."""
    env = {**os.environ, **read_env_values(state)}
    return {c.name: c.status(state, env) for c in COMPONENTS + SERVICE_COMPONENTS}


def write_env_file(state: Path, values: Mapping[str, str]) -> Path:
    state.mkdir(parents=True, exist_ok=True)
    path = state / ENV_FILE
    partial = path.with_suffix(".tmp")
    partial.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    partial.replace(path)  # readers never see a half-written file
    return path


def read_env_file(state: Path) -> str | None:
    try:
        return (state / ENV_FILE).read_text()
    except FileNotFoundError:
        return None


def read_env_values(state: Path) -> dict[str, str]:
    lines = (read_env_file(state) or "").splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)
