"""auth-service benchmarks, each beside a baseline measured in the same run.

1. The access-token call on a valid token, 64 concurrent callers for a few seconds: requests
   per second, p50 and p99, against a bare aiohttp handler reading one document by _id from the
   same database (bench/auth/baseline.py). The ratio is what the JWT check, the validation, the
   indexed read and the AES-GCM decryption cost over the bare read.
2. The refresh storm: two auth-service processes, one expired credential, 200 concurrent
   callers: time until all are served, and how many calls reached the token endpoint (1).

Real infrastructure throughout: the MongoDB-compatible server, RabbitMQ, oidc-provider and the
Atlassian fake. Run with `uv run python -m bench.auth` or `uv run python bench/auth/run.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import aiohttp
from pymongo import AsyncMongoClient

from devinfra.atlassian_fake import AtlassianFake
from devinfra.consent import complete_consent
from devinfra.idp import IdentityProvider
from devinfra.process import free_port
from platform_core.contract_types import utc_now
from platform_core.mongo import Document
from platform_core.service_auth import Scope, mint_token
from tests.support.infra import TEST_ENCRYPTION_KEYS, TEST_JWT_SECRET, ensure_infra
from tests.support.processes import ServiceProcess, delete_queues

CONCURRENCY = 64
DURATION_SECONDS = 5.0
WARMUP_SECONDS = 1.0
STORM_CALLERS = 200
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-client-secret"
APP_ID = "bench-app"


async def load(
    call: Callable[[aiohttp.ClientSession], Awaitable[int]], seconds: float
) -> tuple[float, list[float], int]:
    """Run CONCURRENCY callers for `seconds`; returns (requests/s, latencies in ms, failures)."""
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        deadline = time.perf_counter() + WARMUP_SECONDS
        while time.perf_counter() < deadline:
            await call(session)

        async def caller() -> None:
            nonlocal failures
            while time.perf_counter() < stop:
                started = time.perf_counter()
                status = await call(session)
                latencies.append((time.perf_counter() - started) * 1000)
                failures += status != 200

        begun = time.perf_counter()
        stop = begun + seconds
        await asyncio.gather(*(caller() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - begun
    return len(latencies) / elapsed, latencies, failures


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, rps: float, latencies: list[float], failures: int) -> None:
    print(
        f"  {name:<28} {rps:8.0f} req/s   p50 {statistics.median(latencies):7.1f} ms   "
        f"p99 {percentile(latencies, 0.99):7.1f} ms   failures {failures}"
    )


@contextlib.asynccontextmanager
async def stack(workdir: Path) -> AsyncIterator[dict[str, Any]]:
    infra = ensure_infra()
    run_id = uuid.uuid4().hex[:8]
    database, queue = f"bench_{run_id}_auth", f"bench.{run_id}.auth-service.events"
    public_port = free_port()
    callback = f"http://127.0.0.1:{public_port}/oauth/callback"
    idp = IdentityProvider(
        workdir,
        free_port(),
        [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback]}],
        name="bench-idp",
    )
    idp.start()
    atlassian = AtlassianFake(idp.base_url)
    await atlassian.start()
    env = {
        "MONGODB_URL": infra.mongodb_url,
        "AMQP_URL": infra.amqp_url,
        "PLATFORM_JWT_SECRET": TEST_JWT_SECRET,
        "MONGODB_DATABASE": database,
        "EVENT_QUEUE": queue,
        "TOKEN_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{public_port}",
        "CONFLUENCE_CLIENT_ID": CLIENT_ID,
        "CONFLUENCE_CLIENT_SECRET": CLIENT_SECRET,
        "ATLASSIAN_AUTH_BASE_URL": idp.base_url,
        "ATLASSIAN_API_BASE_URL": atlassian.base_url,
        "ALLOW_INSECURE_PROVIDER_URLS": "true",
        "LOG_LEVEL": "WARNING",
    }
    first = ServiceProcess("auth_service", {**env, "PORT": str(public_port)}, workdir / "a.log")
    second = ServiceProcess("auth_service", env, workdir / "b.log")
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        await first.start()
        await second.start()
        yield {"idp": idp, "replicas": [first, second], "db": client[database], "infra": infra}
    finally:
        for replica in (first, second):
            with contextlib.suppress(Exception):
                await replica.stop()
        await atlassian.stop()
        idp.stop()
        await client.drop_database(database)
        await client.close()
        await delete_queues(
            infra.amqp_url, [queue, f"{queue}.dlq", *(f"{queue}.retry.{i}" for i in (1, 2, 3))]
        )


async def connect(base_url: str, token: str) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        body = {
            "app_id": APP_ID,
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": {"type": "app"},
        }
        headers = {"Authorization": f"Bearer {token}"}
        async with browser.post(f"{base_url}/v1/authorizations", json=body, headers=headers) as r:
            issued = await r.json()
        result = await complete_consent(browser, issued["authorization_url"])
        assert result.status == 200, result.text
        url = f"{base_url}/v1/authorizations/{issued['authorization_id']}"
        async with browser.get(url, headers=headers) as r:
            return str((await r.json())["credential_id"])


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-auth-") as tmp:
        async with stack(Path(tmp)) as running:
            await _run(running, Path(tmp))


async def _run(running: dict[str, Any], workdir: Path) -> None:
    first = running["replicas"][0]
    token = mint_token(TEST_JWT_SECRET, "bench", [Scope.ISSUE_TOKENS, Scope.WRITE, Scope.READ])
    credential_id = await connect(first.url, token)
    headers = {"Authorization": f"Bearer {token}"}
    vend_url = f"{first.url}/v1/apps/{APP_ID}/integrations/confluence/access-token"

    async def vend(session: aiohttp.ClientSession) -> int:
        async with session.post(vend_url, json={"subject": {"type": "app"}}, headers=headers) as r:
            await r.read()
            return r.status

    baseline_port = free_port()
    infra = running["infra"]
    baseline_log = (workdir / "baseline.log").open("wb")
    baseline = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("baseline.py")),
        str(baseline_port),
        infra.mongodb_url,
        running["db"].name,
        "credentials",
        credential_id,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=baseline_log,
    )
    try:
        await _wait_http(f"http://127.0.0.1:{baseline_port}/healthz")

        async def bare(session: aiohttp.ClientSession) -> int:
            async with session.post(f"http://127.0.0.1:{baseline_port}/read") as r:
                await r.read()
                return r.status

        print(f"access-token call on a valid token, {CONCURRENCY} concurrent callers:")
        base_rps, base_lat, base_fail = await load(bare, DURATION_SECONDS)
        rps, lat, fail = await load(vend, DURATION_SECONDS)
    finally:
        baseline.terminate()
        await baseline.wait()
        baseline_log.close()
    report("baseline (bare read by _id)", base_rps, base_lat, base_fail)
    report("auth-service access-token", rps, lat, fail)
    print(
        f"  ratio auth/baseline: throughput {rps / base_rps:.2f}x, "
        f"p50 {statistics.median(lat) / statistics.median(base_lat):.2f}x, "
        f"p99 {percentile(lat, 0.99) / percentile(base_lat, 0.99):.2f}x"
    )

    await _storm(running, credential_id, token, base_p50=statistics.median(base_lat))


async def _storm(running: dict[str, Any], credential_id: str, token: str, base_p50: float) -> None:
    first, second = running["replicas"]
    idp: IdentityProvider = running["idp"]
    await running["db"].credentials.update_one(
        {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}}
    )
    await idp.reset_stats()
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/apps/{APP_ID}/integrations/confluence/access-token"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def call(i: int) -> str:
            base = (first, second)[i % 2].url
            async with session.post(
                f"{base}{path}", json={"subject": {"type": "app"}}, headers=headers
            ) as r:
                body = await r.json()
                return str(body.get("access_token", f"status {r.status}"))

        started = time.perf_counter()
        tokens = await asyncio.gather(*(call(i) for i in range(STORM_CALLERS)))
        elapsed = (time.perf_counter() - started) * 1000
    counts = await idp.token_request_counts()
    print(f"refresh storm, {STORM_CALLERS} callers over 2 replicas, one expired credential:")
    print(
        f"  all served in {elapsed:.0f} ms ({elapsed / base_p50:.1f}x the baseline p50); "
        f"token endpoint calls {counts['refresh_token']}; distinct tokens served {len(set(tokens))}"
    )


async def _wait_http(url: str, timeout: float = 15.0) -> None:
    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(url) as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


if __name__ == "__main__":
    asyncio.run(main())
