"""The real MongoDB-compatible server and RabbitMQ the tests run against.

The same logic as `make run` (devinfra): a URL from the environment when it answers, else a
server already on the default local port, else one started here as a child process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devinfra.mongodb import ensure_mongodb
from devinfra.rabbitmq import ensure_rabbitmq

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST_JWT_SECRET = "test-secret-that-is-at-least-32-bytes-long!"


@dataclass(frozen=True)
class Infra:
    mongodb_url: str
    amqp_url: str


def state_dir() -> Path:
    return Path(os.environ.get("DEVINFRA_STATE_DIR", REPO_ROOT / ".devinfra"))


def ensure_infra() -> Infra:
    directory = state_dir()
    return Infra(
        mongodb_url=ensure_mongodb(directory, os.environ.get("MONGODB_URL")),
        amqp_url=ensure_rabbitmq(directory, os.environ.get("AMQP_URL")),
    )


TEST_ENCRYPTION_KEYS = "k1:" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="


def service_specific_env(service: str) -> dict[str, str]:
    """What each service requires beyond contract §5's common settings."""
    if service == "auth-service":
        return {"TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS}
    return {}
