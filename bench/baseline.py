"""Starting and stopping the baseline process (`bench.baseline_server`) for one benchmark.

It gets a database of its own (dropped afterwards) and publishes to the platform's exchange
under `ROUTING_KEY`, which no service consumes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from pymongo import AsyncMongoClient

from devinfra.process import free_port
from platform_core.events import EXCHANGE
from platform_core.mongo import Document
from tests.support.infra import Infra

ROUTING_KEY = "bench.baseline.written"
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BaselineServer:
    url: str
    pid: int

    def write_url(self, app_id: str) -> str:
        return f"{self.url}/write/{app_id}"


@contextlib.asynccontextmanager
async def serving(infra: Infra, log_path: Path) -> AsyncIterator[BaselineServer]:
    port, database = free_port(), f"bench_{uuid.uuid4().hex[:8]}_baseline"
    arguments = [str(port), infra.mongodb_url, database, infra.amqp_url, EXCHANGE, ROUTING_KEY]
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.baseline_server",
            *arguments,
            cwd=REPO_ROOT,
            stdout=log,
            stderr=log,
        )
    server = BaselineServer(f"http://127.0.0.1:{port}", process.pid)
    try:
        await _until_healthy(server, process, log_path)
        yield server
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()
        client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url)
        await client.drop_database(database)
        await client.close()


async def _until_healthy(
    server: BaselineServer,
    process: asyncio.subprocess.Process,
    log_path: Path,
    timeout: float = 20.0,
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession() as session:
        while asyncio.get_running_loop().time() < deadline:
            if process.returncode is not None:
                log = await asyncio.to_thread(log_path.read_text)
                raise RuntimeError(f"the baseline server exited:\n{log[-2000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{server.url}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the baseline server did not answer in {timeout}s")
