"""The real MongoDB-compatible server and RabbitMQ the tests run against.

`choose` decides where they come from, in this order: a URL from the environment
(`MONGODB_URL`, `AMQP_URL`); containers started with testcontainers when a Docker engine answers
(RabbitMQ, and MongoDB as a one-node replica set, so transactions and change streams work);
otherwise the same logic as `make run` (devinfra): a server already on the default local port,
else one started here as a child process.
"""

from __future__ import annotations

import atexit
import contextlib
import http.client
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from devinfra.mongodb import ensure_mongodb
from devinfra.rabbitmq import ensure_rabbitmq

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long!"
MONGO_IMAGE = "mongo:7.0"
RABBITMQ_IMAGE = "rabbitmq:3.13-management"

Source = Literal["environment", "containers", "local"]


@dataclass(frozen=True)
class Infra:
    mongodb_url: str
    amqp_url: str


def state_dir() -> Path:
    return Path(os.environ.get("DEVINFRA_STATE_DIR", REPO_ROOT / ".devinfra"))


def choose(environ: Mapping[str, str], docker_answers: Callable[[], bool]) -> Source:
    """Where the infrastructure comes from (see the module's docstring for the order)."""
    if environ.get("MONGODB_URL") and environ.get("AMQP_URL"):
        return "environment"
    if docker_answers():
        return "containers"
    return "local"


def docker_answers(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a Docker engine answers `GET /_ping` (a `docker` client alone is not enough).

    Asked with the standard library: the Docker SDK leaks its socket when no engine listens.
    """
    host = environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        connection = _docker_connection(host)
        try:
            connection.request("GET", "/_ping")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    except (OSError, ValueError, http.client.HTTPException):
        return False


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=3)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _docker_connection(host: str) -> http.client.HTTPConnection:
    if host.startswith("unix://"):
        return _UnixConnection(host.removeprefix("unix://"))
    if host.startswith("tcp://"):
        address = host.removeprefix("tcp://")
        name, _, port = address.rpartition(":")
        return http.client.HTTPConnection(name, int(port), timeout=3)
    raise ValueError("an unsupported DOCKER_HOST")


def ensure_infra() -> Infra:
    source = choose(os.environ, docker_answers)
    if source == "containers":
        return _containers()
    directory = state_dir()
    return Infra(
        mongodb_url=ensure_mongodb(directory, os.environ.get("MONGODB_URL")),
        amqp_url=ensure_rabbitmq(directory, os.environ.get("AMQP_URL")),
    )


def _containers() -> Infra:
    """RabbitMQ and a one-node MongoDB replica set, stopped when the test process ends."""
    from testcontainers.community.mongodb import MongoDbContainer
    from testcontainers.community.rabbitmq import RabbitMqContainer

    rabbit = RabbitMqContainer(RABBITMQ_IMAGE)
    mongo = MongoDbContainer(MONGO_IMAGE).with_command("--replSet rs0 --bind_ip_all")
    rabbit.start()
    mongo.start()
    for started in (mongo, rabbit):
        atexit.register(_stopper(started))
    host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
    initiate = "rs.initiate({_id: 'rs0', members: [{_id: 0, host: 'localhost:27017'}]})"
    mongo.exec(["mongosh", "--quiet", "--eval", initiate])
    amqp = rabbit.get_connection_params()
    credentials = amqp.credentials
    return Infra(
        mongodb_url=f"mongodb://{host}:{port}/?directConnection=true",
        amqp_url=(f"amqp://{credentials.username}:{credentials.password}@{amqp.host}:{amqp.port}/"),
    )


def _stopper(container: object) -> Callable[[], None]:
    def stop() -> None:
        with contextlib.suppress(Exception):
            container.stop()  # type: ignore[attr-defined]

    return stop


TEST_ENCRYPTION_KEYS = "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def service_specific_env(service: str) -> dict[str, str]:
    """What each service requires beyond contract §5's common settings."""
    if service == "auth-service":
        return {"TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}
    return {}
