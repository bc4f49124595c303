"""devinfra against real servers: a private SecantusDB and a private, restartable RabbitMQ node."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
from pymongo import MongoClient

from devinfra.mongodb import SecantusServer, ensure_mongodb, ping, start_secantus, stop_secantus
from devinfra.process import free_port, port_open
from devinfra.rabbitmq import IsolatedRabbitMQ, amqp_ok, ensure_rabbitmq


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
