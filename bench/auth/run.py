"""auth-service benchmarks, each beside a baseline measured in the same run.

1. The access-token call on a valid token, CONCURRENCY concurrent callers for a few seconds:
   throughput, p50 and p99, against a bare aiohttp handler reading one document by _id from the
   same database (bench/auth/baseline.py). Three times: on a replica whose credential cache is
   warm (goal: at least the baseline's throughput, p99 no worse), on one with the cache off
   (CREDENTIAL_CACHE_MAX_AGE_SECONDS=0; goal: at least 0.8x the baseline's throughput), both
   with every caller asking for the app's one credential, as a pre-authorized app's
   conversations do; then with the cache off and the calls going round CONCURRENCY end users'
   credentials, so the reads gathered per event-loop turn are of different subjects.
2. The refresh storm: two auth-service replicas, one expired credential, STORM_CALLERS
   concurrent callers: time until all are served, and how many calls reached the token endpoint
   (must be 1).

Real infrastructure throughout: the MongoDB-compatible server, RabbitMQ, oidc-provider and the
Atlassian fake. Run with `python -m bench auth`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from pymongo import AsyncMongoClient

from bench.report import Figure, compare, latency_figures, load
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
STORM_CALLERS = 200
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-client-secret"
APP_ID = "bench-app"
APP_SUBJECT = {"type": "app"}


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
        # One browser dance per end user below, all from this address.
        "RATE_LIMIT_PER_MINUTE": "100000",
        "LOG_LEVEL": "WARNING",
    }
    first = ServiceProcess("auth_service", {**env, "PORT": str(public_port)}, workdir / "a.log")
    second = ServiceProcess("auth_service", env, workdir / "b.log")
    cold = ServiceProcess(
        "auth_service", {**env, "CREDENTIAL_CACHE_MAX_AGE_SECONDS": "0"}, workdir / "cold.log"
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(infra.mongodb_url, tz_aware=True)
    try:
        for replica in (first, second, cold):
            await replica.start()
        yield {
            "idp": idp,
            "replicas": [first, second],
            "cold": cold,
            "db": client[database],
            "infra": infra,
        }
    finally:
        for replica in (first, second, cold):
            with contextlib.suppress(Exception):
                await replica.stop()
        await atlassian.stop()
        idp.stop()
        await client.drop_database(database)
        await client.close()
        await delete_queues(
            infra.amqp_url, [queue, f"{queue}.dlq", *(f"{queue}.retry.{i}" for i in (1, 2, 3))]
        )


def user(n: int) -> dict[str, str]:
    return {"type": "user", "user_id": f"bench-user-{n}"}


async def connect(base_url: str, token: str, subject: dict[str, str] = APP_SUBJECT) -> str:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        body = {
            "app_id": APP_ID,
            "integration": "confluence",
            "profile": {"kind": "system"},
            "subject": subject,
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
    first, cold = running["replicas"][0], running["cold"]
    token = mint_token(
        TEST_JWT_SECRET, "bench", [Scope.ISSUE_TOKENS, Scope.WRITE, Scope.READ], ttl_seconds=3600
    )
    credential_id = await connect(first.url, token)
    headers = {"Authorization": f"Bearer {token}"}
    path = f"/v1/apps/{APP_ID}/integrations/confluence/access-token"

    users = [user(n) for n in range(CONCURRENCY)]
    for end_user in users:
        await connect(first.url, token, end_user)

    def vending(base_url: str, subjects: list[dict[str, str]]) -> Any:
        callers = itertools.count()

        async def vend(session: aiohttp.ClientSession) -> int:
            body = {"subject": subjects[next(callers) % len(subjects)]}
            async with session.post(f"{base_url}{path}", json=body, headers=headers) as r:
                await r.read()
                return r.status

        return vend

    async with bare_read(running, workdir, credential_id) as bare:
        baseline = await load(bare, seconds=DURATION_SECONDS, concurrency=CONCURRENCY)
        warm = await load(
            vending(first.url, [APP_SUBJECT]), seconds=DURATION_SECONDS, concurrency=CONCURRENCY
        )
        cold_run = await load(
            vending(cold.url, [APP_SUBJECT]), seconds=DURATION_SECONDS, concurrency=CONCURRENCY
        )
        cold_users = await load(
            vending(cold.url, users), seconds=DURATION_SECONDS, concurrency=CONCURRENCY
        )
    subject = f"access-token call, {CONCURRENCY} concurrent callers"
    warm_figures = latency_figures(warm, baseline, ">= 1.0x")
    warm_figures[0] = _met(warm_figures[0], 1.0)
    warm_figures[2] = Figure(
        "p99", warm.p99, baseline.p99, "ms", "<= 1.0x", warm.p99 <= baseline.p99
    )
    compare("auth.access_token_warm", f"{subject}, cache warm", "bare read by _id", warm_figures)
    cold_figures = latency_figures(cold_run, baseline, ">= 0.8x")
    cold_figures[0] = _met(cold_figures[0], 0.8)
    compare("auth.access_token_cold", f"{subject}, cache off", "bare read by _id", cold_figures)
    users_figures = latency_figures(cold_users, baseline, ">= 0.8x")
    users_figures[0] = _met(users_figures[0], 0.8)
    compare(
        "auth.access_token_cold_users",
        f"{subject}, cache off, {CONCURRENCY} end users' credentials",
        "bare read by _id",
        users_figures,
    )
    failures = warm.failures + cold_run.failures + cold_users.failures + baseline.failures
    if failures:
        print(f"  failures: {failures} calls did not answer 200")
    await _storm(running, credential_id, token, base_p50=baseline.p50)


def _met(figure: Figure, ratio: float) -> Figure:
    return Figure(
        figure.name, figure.value, figure.baseline, figure.unit, figure.goal, figure.ratio >= ratio
    )


@contextlib.asynccontextmanager
async def bare_read(
    running: dict[str, Any], workdir: Path, credential_id: str
) -> AsyncIterator[Any]:
    """The baseline process, and the call that reads the credential through it."""
    port = free_port()
    with (workdir / "baseline.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("baseline.py")),
            str(port),
            running["infra"].mongodb_url,
            running["db"].name,
            "credentials",
            credential_id,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:
        await _wait_http(f"http://127.0.0.1:{port}/healthz")

        async def bare(session: aiohttp.ClientSession) -> int:
            async with session.post(f"http://127.0.0.1:{port}/read") as r:
                await r.read()
                return r.status

        yield bare
    finally:
        process.terminate()
        await process.wait()


async def _storm(running: dict[str, Any], credential_id: str, token: str, base_p50: float) -> None:
    first, second = running["replicas"]
    idp: IdentityProvider = running["idp"]
    await running["db"].credentials.update_one(
        {"_id": credential_id}, {"$set": {"expires_at": utc_now() - timedelta(seconds=1)}}
    )
    # The replicas' caches learn of the expiry from their change stream, not instantly.
    await asyncio.sleep(1.0)
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
    calls, distinct = counts["refresh_token"], len(set(tokens))
    compare(
        "auth.refresh_storm",
        f"{STORM_CALLERS} callers over 2 replicas, one expired credential",
        "the bare read's p50",
        [
            Figure("all served", elapsed, base_p50, "ms"),
            Figure("token calls", float(calls), 1.0, "calls", "== 1", calls == 1),
            Figure("tokens", float(distinct), 1.0, "distinct", "== 1", distinct == 1),
        ],
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
