"""The baseline process the service flows are held against: a bare aiohttp handler.

`python -m bench.baseline_server PORT MONGODB_URL DATABASE AMQP_URL EXCHANGE ROUTING_KEY`:
`POST /write/{app_id}` inserts one MongoDB document, then publishes one CloudEvent (subject the
app id) to the exchange with a publisher confirm, and answers 201. No framework, no JWT, no
validation, no transaction, no outbox: the least a write-and-tell endpoint does. It imports
only aiohttp, aio-pika and pymongo, so its resident memory is a fair floor for a service's.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractExchange
from aiohttp import web
from pymongo import AsyncMongoClient


def build_app(
    mongodb_url: str, database: str, amqp_url: str, exchange_name: str, routing_key: str
) -> web.Application:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    documents = client[database]["documents"]
    exchange: list[AbstractExchange] = []

    async def broker(_: web.Application) -> AsyncIterator[None]:
        connection = await aio_pika.connect_robust(amqp_url)
        channel = await connection.channel(publisher_confirms=True)
        exchange.append(
            await channel.declare_exchange(exchange_name, aio_pika.ExchangeType.TOPIC, durable=True)
        )
        yield
        await connection.close()
        await client.close()

    async def write(request: web.Request) -> web.Response:
        app_id = request.match_info["app_id"]
        now = datetime.now(UTC)
        await documents.insert_one({"_id": uuid.uuid4().hex, "app_id": app_id, "at": now})
        event = {
            "specversion": "1.0",
            "id": uuid.uuid4().hex,
            "source": "/bench-baseline",
            "type": routing_key,
            "time": now.isoformat(),
            "subject": app_id,
            "datacontenttype": "application/json",
            "data": {"app_id": app_id},
        }
        message = aio_pika.Message(
            json.dumps(event).encode(),
            content_type="application/cloudevents+json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await exchange[0].publish(message, routing_key=routing_key)
        return web.json_response({"app_id": app_id}, status=201)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.cleanup_ctx.append(broker)
    app.router.add_post("/write/{app_id}", write)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    port, *settings = sys.argv[1:7]
    mongodb_url, database, amqp_url, exchange_name, routing_key = settings
    app = build_app(mongodb_url, database, amqp_url, exchange_name, routing_key)
    web.run_app(app, host="127.0.0.1", port=int(port), access_log=None, print=None)


if __name__ == "__main__":
    main()
