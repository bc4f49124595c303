"""Serving a service's real app in the test process, on a real port, with real resources."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer


@contextlib.asynccontextmanager
async def serving(
    app: web.Application, port: int | None = None
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    """Start `app` (running its cleanup contexts, so MongoDB and RabbitMQ are real) and stop it.

    `port` fixes the port when something outside must know it in advance (an IdP's redirect URI).
    """
    client: TestClient[web.Request, web.Application] = TestClient(
        TestServer(app, host="127.0.0.1", port=port)
    )
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()
