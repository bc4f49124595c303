"""Resident memory of every service process, idle and loaded, beside the bare baseline's.

RSS is VmRSS from /proc/<pid>/status, in MB (10^6 bytes). Idle: after start-up and SETTLE_SECONDS
of quiet. Loaded: right after TOKEN_CALLS access-token calls (TOKEN_CONCURRENCY at a time, over
both auth-service replicas), RUNS Create Content runs through template-service and STATE_READS
integration-state reads from integration-service, and for tool-service an MCP client (the
official SDK over Streamable HTTP) listing the tools and calling Create Content RUNS times.
Baseline, in the same run: the idle RSS of `bench.baseline_server` (aiohttp, aio-pika and
pymongo, nothing else). Goal: at most 90 MB per service when idle.

tool-service is measured when `python -m tool_service` starts; when it does not, the reason is
printed and it is left out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bench.baseline import serving
from bench.report import Figure, compare, concurrently
from bench.runs import TEMPLATE, CreateContent, entities
from bench.stack import browser, system
from devinfra.process import free_port
from platform_core.service_auth import Scope, mint_token
from tests.support.infra import TEST_JWT_SECRET
from tests.support.processes import ServiceProcess
from tests.support.scenarios import connected_app, installed
from tests.support.system import System

SETTLE_SECONDS = 3.0
TOKEN_CALLS = 2000
TOKEN_CONCURRENCY = 16
RUNS = 20
STATE_READS = 200
IDLE_GOAL_MB = 90.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise RuntimeError(f"process {pid} reports no VmRSS")


def _pid(process: ServiceProcess) -> int:
    if process.process is None:
        raise RuntimeError(f"{process.module} is not running")
    return process.process.pid


def named(running: System, tool: ServiceProcess | None) -> dict[str, int]:
    pids = {f"auth-service-{i + 1}": _pid(p) for i, p in enumerate(running.auth)}
    pids["integration-service"] = _pid(running.integration)
    pids["template-service"] = _pid(running.template)
    if tool is not None:
        pids["tool-service"] = _pid(tool)
    return pids


@contextlib.asynccontextmanager
async def tool_service(running: System, logs: Path) -> AsyncIterator[ServiceProcess | None]:
    port = free_port()
    env = {
        **running.env("tool-service"),
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "TEMPLATE_SERVICE_URL": running.template.url,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MCP_AUTHORIZATION_SERVERS": running.auth_url,
    }
    process = ServiceProcess("tool_service", env, logs / "tool.log")
    try:
        await process.start()
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()
        print(f"  tool-service skipped: {reason[0]} {reason[-1] if len(reason) > 1 else ''}")
        with contextlib.suppress(Exception):
            await process.stop()
        yield None
        return
    try:
        yield process
    finally:
        with contextlib.suppress(Exception):
            await process.stop()


async def agent_calls(tool: ServiceProcess, app_id: str) -> None:
    token = mint_token(
        TEST_JWT_SECRET,
        "bench-agent",
        [Scope.RUN_ACTIONS],
        app_ids=[app_id],
        audience=["tool-service"],
    )
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with (
        http,
        Client(streamable_http_client(f"{tool.url}/mcp", http_client=http), mode="auto") as agent,
    ):
        await agent.list_tools()
        for _ in range(RUNS):
            result = await agent.call_tool("confluence_create_content", entities())
            if result.is_error:
                raise RuntimeError(f"tools/call failed: {result}")


async def drive(
    running: System, session: aiohttp.ClientSession, tool: ServiceProcess | None
) -> None:
    client = running.client(session)
    app_id = await connected_app(client, browser=session)
    task = await installed(client, app_id, TEMPLATE)
    token_headers = running.headers(Scope.ISSUE_TOKENS)
    path = f"/v1/apps/{app_id}/integrations/confluence/access-token"

    async def token(index: int) -> None:
        url = running.auth[index % len(running.auth)].url + path
        async with session.post(url, json={"subject": {"type": "app"}}, headers=token_headers) as r:
            if r.status != 200:
                raise RuntimeError(f"access-token -> {r.status}: {await r.text()}")

    async def state(_: int) -> None:
        await client.get_integration(app_id, "confluence")

    runs = CreateContent(running, session, app_id, task)
    await concurrently(token, TOKEN_CALLS, TOKEN_CONCURRENCY)
    await concurrently(lambda _: runs.through_template(), RUNS, 4)
    await concurrently(state, STATE_READS, 4)
    if tool is not None:
        await agent_calls(tool, app_id)


async def main() -> None:
    async with (
        system("memory") as (running, logs),
        browser() as session,
        serving(running.infra, logs / "baseline.log") as baseline,
        tool_service(running, logs) as tool,
    ):
        pids = named(running, tool)
        await asyncio.sleep(SETTLE_SECONDS)
        idle = {name: rss_mb(pid) for name, pid in pids.items()}
        floor = rss_mb(baseline.pid)
        await drive(running, session, tool)
        loaded = {name: rss_mb(pid) for name, pid in pids.items()}
    goal = f"<= {IDLE_GOAL_MB:.0f} MB"
    figures = [
        Figure(f"{name} idle", mb, floor, "MB", goal, mb <= IDLE_GOAL_MB)
        for name, mb in idle.items()
    ]
    figures += [Figure(f"{name} loaded", mb, floor, "MB") for name, mb in loaded.items()]
    compare(
        "memory.rss",
        f"each service process, idle and after {TOKEN_CALLS} access-token calls, {RUNS} runs"
        f" and {RUNS} MCP tool calls",
        "bare aiohttp + aio-pika + pymongo process, idle",
        figures,
    )


if __name__ == "__main__":
    asyncio.run(main())
