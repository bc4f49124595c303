"""devinfra against real servers: a private SecantusDB and a private, restartable RabbitMQ node;
and which servers a checkout uses, whether it started them, and its own names on shared ones."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from pymongo import MongoClient

from devinfra import mongodb, rabbitmq, stack
from devinfra.mongodb import SecantusServer, ensure_mongodb, ping, start_secantus, stop_secantus
from devinfra.process import free_port, port_open
from devinfra.rabbitmq import IsolatedRabbitMQ, amqp_ok, ensure_rabbitmq
from devinfra.services import DATABASE_PREFIX, QUEUE_PREFIX, SERVICES, service_environment


@pytest.fixture
def secantus(tmp_path: Path) -> Iterator[SecantusServer]:
    server = SecantusServer(tmp_path / "state", free_port(), tmp_path / "data", name="secantus")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.mongo
def test_secantus_server_answers_ping_stores_documents_and_stops(
    secantus: SecantusServer,
) -> None:
    assert ping(secantus.url)
    client: MongoClient[dict[str, object]] = MongoClient(
        secantus.url, serverSelectionTimeoutMS=5000
    )
    with client:
        collection = client["devinfra_test"]["things"]
        collection.insert_one({"_id": "a", "n": 1})
        assert collection.find_one({"_id": "a"}) == {"_id": "a", "n": 1}

    assert secantus.stop()
    assert not port_open("127.0.0.1", secantus.port)
    assert not secantus.stop()


@pytest.mark.mongo
def test_start_secantus_is_idempotent_and_stop_secantus_ends_it(tmp_path: Path) -> None:
    port = free_port()
    url = start_secantus(tmp_path, port, tmp_path / "data")
    try:
        assert start_secantus(tmp_path, port, tmp_path / "data") == url
        assert ping(url)
    finally:
        assert stop_secantus(tmp_path)
    assert not port_open("127.0.0.1", port)


@pytest.mark.mongo
def test_ensure_mongodb_returns_a_working_url_unchanged(
    secantus: SecantusServer, tmp_path: Path
) -> None:
    given = f"mongodb://127.0.0.1:{secantus.port}/devinfra?directConnection=true"
    assert ensure_mongodb(tmp_path / "unused", given) == given
    assert not (tmp_path / "unused").exists()


async def _publish_and_get(url: str, queue_name: str) -> bytes:
    connection = await aio_pika.connect(url, timeout=10)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(queue_name, durable=True)
        await channel.default_exchange.publish(
            aio_pika.Message(b"hello", delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=queue_name,
        )
        message = await queue.get(timeout=10, fail=True)
        assert message is not None
        await message.ack()
        return message.body


@pytest.mark.broker
@pytest.mark.slow
async def test_isolated_rabbitmq_starts_stops_and_starts_again(tmp_path: Path) -> None:
    node = IsolatedRabbitMQ(
        tmp_path / "rabbit",
        port=free_port(),
        dist_port=free_port(),
        nodename=f"t{uuid.uuid4().hex[:8]}@localhost",
    )
    try:
        await asyncio.to_thread(node.start)
        assert await _publish_and_get(node.url, "devinfra.test") == b"hello"

        assert await asyncio.to_thread(node.stop)
        assert not port_open("127.0.0.1", node.port)
        assert not node.running()

        await asyncio.to_thread(node.start)
        assert await _publish_and_get(node.url, "devinfra.test") == b"hello"
        assert ensure_rabbitmq(tmp_path / "unused", node.url) == node.url
    finally:
        await asyncio.to_thread(node.stop)
    assert not port_open("127.0.0.1", node.port)


@pytest.mark.broker
def test_amqp_ok_rejects_a_closed_port() -> None:
    assert not amqp_ok(f"amqp://guest:guest@127.0.0.1:{free_port()}/")


# --- which servers a checkout uses, and its names there -----------------------------------------


@pytest.mark.mongo
def test_a_checkout_on_a_mongodb_it_did_not_start_gets_database_names_of_its_own(
    secantus: SecantusServer, tmp_path: Path
) -> None:
    first, second = tmp_path / "checkout-a" / ".devinfra", tmp_path / "checkout-b" / ".devinfra"
    given = {"MONGODB_URL": secantus.url}
    mongodb_up = stack.COMPONENTS[0].up
    a, b = mongodb_up(first, given), mongodb_up(second, given)
    assert a["MONGODB_URL"] == b["MONGODB_URL"] == secantus.url
    assert a[stack.MONGODB_ORIGIN] == b[stack.MONGODB_ORIGIN] == "external"
    assert re.fullmatch(r"c[0-9a-f]{8}_", a[DATABASE_PREFIX])
    assert a[DATABASE_PREFIX] != b[DATABASE_PREFIX]
    assert mongodb_up(first, given) == a  # stable across runs
    names_a = {service_environment(s, a)["MONGODB_DATABASE"] for s in SERVICES}
    names_b = {service_environment(s, b)["MONGODB_DATABASE"] for s in SERVICES}
    assert len(names_a) == len(names_b) == len(SERVICES)
    assert names_a.isdisjoint(names_b)
    assert not (first / "mongodb.pid").exists()  # it started nothing


def test_a_checkout_on_servers_it_started_keeps_the_plain_names(tmp_path: Path) -> None:
    url = "mongodb://127.0.0.1:27017/?directConnection=true"
    assert stack.origin_of(url, None, url) == "started"
    assert stack.origin_of(url, url, url) == "running"
    assert stack.origin_of(url, None, None) == "external"
    assert stack.origin_of(url, "mongodb://127.0.0.1:1/", "mongodb://127.0.0.1:1/") == "external"
    for origin in ("started", "running"):
        assert stack.database_prefix(tmp_path, origin) == ""
        assert stack.queue_prefix(tmp_path, origin) == ""
    env = {DATABASE_PREFIX: "", QUEUE_PREFIX: "", "MONGODB_DATABASE": "shared"}
    names = [service_environment(s, env)["MONGODB_DATABASE"] for s in SERVICES]
    assert names == [s.name.replace("-", "_") for s in SERVICES]
    assert {"auth_service", "integration_service", "template_service"} <= set(names)
    assert all("EVENT_QUEUE" not in service_environment(s, env) for s in SERVICES)


def test_on_a_shared_broker_each_service_consumes_from_a_queue_of_its_checkout(
    tmp_path: Path,
) -> None:
    prefix = stack.queue_prefix(tmp_path, "external")
    env = {QUEUE_PREFIX: prefix, DATABASE_PREFIX: ""}
    queues = [service_environment(s, env)["EVENT_QUEUE"] for s in SERVICES]
    assert queues == [f"{prefix}{s.name}.events" for s in SERVICES]
    assert prefix == f"{stack.checkout_id(tmp_path)}."


def test_up_says_which_servers_it_uses_who_started_them_and_the_names_there(
    tmp_path: Path,
) -> None:
    env = {
        "MONGODB_URL": "mongodb://127.0.0.1:27017/?directConnection=true",
        stack.MONGODB_ORIGIN: "external",
        DATABASE_PREFIX: "c0123abcd_",
        "AMQP_URL": "amqp://guest:s3cret@127.0.0.1:5672/",
        stack.RABBITMQ_ORIGIN: "started",
        QUEUE_PREFIX: "",
    }
    mongo_line, rabbit_line = stack.provision_lines(env)
    databases = ", ".join(f"c0123abcd_{s.name.replace('-', '_')}" for s in SERVICES)
    assert mongo_line == (
        "MongoDB: mongodb://127.0.0.1:27017/?directConnection=true (not started by this "
        f"checkout's devinfra); databases: {databases}"
    )
    assert rabbit_line.startswith(
        "RabbitMQ: amqp://guest@127.0.0.1:5672/ (started now by devinfra)"
    )
    assert "s3cret" not in rabbit_line
    assert "queues: auth-service.events," in rabbit_line


def test_a_state_directory_that_started_no_server_owns_none(tmp_path: Path) -> None:
    assert mongodb.owned_url(tmp_path) is None
    assert rabbitmq.owned_url(tmp_path) is None


def test_up_never_prints_or_writes_a_secret_it_provides() -> None:
    provided = {
        "MONGODB_URL": "mongodb://127.0.0.1:27017/",
        "CONFLUENCE_CLIENT_ID": "local-atlassian-app",
        "CONFLUENCE_CLIENT_SECRET": "stand-in-secret",
        "JIRA_CLIENT_SECRET": "stand-in-secret",
        "PLATFORM_JWT_SECRET": "jwt-secret",
        "TOKEN_ENCRYPTION_KEYS": "k1:AAAA",
    }
    assert stack.shareable(provided) == {
        "MONGODB_URL": "mongodb://127.0.0.1:27017/",
        "CONFLUENCE_CLIENT_ID": "local-atlassian-app",
    }
