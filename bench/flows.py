"""The two configuration flows an admin walks, each beside a bare write-and-tell handler.

1. Configure: integration-service's `PUT /v1/apps/{app}/integrations/confluence/authorization`
   with `user_authorize` (answers 200 at once), timed until `integration.configured` reaches a
   consumer bound to the exchange. Baseline: `bench.baseline_server` inserting one document and
   publishing one confirmed CloudEvent, timed until the same consumer has that event.
2. Install: template-service's `POST /v1/apps/{app}/template-installations` of
   `confluence.create_content` for an app configured as above, timed until its 201. Baseline: the
   same bare handler, timed until its 201.

Sequential, COUNT fresh apps each (registered beforehand, untimed), subject and baseline calls
alternating so the machine's noise falls on both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import Any

import aiohttp

from bench.baseline import ROUTING_KEY, BaselineServer, serving
from bench.report import compare, latency_figures, paired
from bench.stack import browser, new_app_id, system
from integrations_client import IntegrationsClient
from tests.support.events import EventTap
from tests.support.system import System
from tests.support.waiting import eventually

COUNT = 50
WARMUP = 3
TEMPLATE = "confluence.create_content"
USER_AUTHORIZE = {"type": "user_authorize", "profile": {"kind": "system"}}


async def _expect(response: aiohttp.ClientResponse, status: int) -> None:
    if response.status != status:
        raise RuntimeError(
            f"{response.method} {response.url} -> {response.status}: {await response.text()}"
        )


def _told(event_type: str, app_id: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda events: any(e["subject"] == app_id and e["type"] == event_type for e in events)


class Flows:
    """The timed calls; each takes the next of the prepared apps."""

    def __init__(
        self,
        running: System,
        session: aiohttp.ClientSession,
        baseline: BaselineServer,
        tap: EventTap,
    ) -> None:
        self._running = running
        self._session = session
        self._baseline = baseline
        self._tap = tap
        self._headers = running.headers()

    async def configure(self, app_id: str) -> None:
        base = self._running.integration.url
        url = f"{base}/v1/apps/{app_id}/integrations/confluence/authorization"
        async with self._session.put(url, json=USER_AUTHORIZE, headers=self._headers) as response:
            await _expect(response, 200)
        await self._tap.wait_for(_told("integration.configured", app_id))

    async def install(self, app_id: str) -> None:
        url = f"{self._running.template.url}/v1/apps/{app_id}/template-installations"
        body = {"template_id": TEMPLATE}
        async with self._session.post(url, json=body, headers=self._headers) as response:
            await _expect(response, 201)

    async def bare_write(self, app_id: str) -> None:
        async with self._session.post(self._baseline.write_url(app_id)) as response:
            await _expect(response, 201)

    async def bare_write_told(self, app_id: str) -> None:
        await self.bare_write(app_id)
        await self._tap.wait_for(_told(ROUTING_KEY, app_id))


def _each(
    call: Callable[[str], Awaitable[None]], apps: Iterator[str]
) -> Callable[[], Awaitable[None]]:
    async def next_call() -> None:
        await call(next(apps))

    return next_call


async def _installable(client: IntegrationsClient, app_id: str) -> bool:
    return any(
        [
            item.template_id == TEMPLATE and item.installable
            async for item in client.list_app_templates(app_id)
        ]
    )


async def measure(
    running: System, session: aiohttp.ClientSession, baseline: BaselineServer
) -> None:
    client = running.client(session)
    apps = [new_app_id() for _ in range(COUNT + WARMUP)]
    bare_apps = [new_app_id("bare") for _ in range(2 * (COUNT + WARMUP))]
    for app_id in apps:
        await client.put_app(app_id, name="Bench app", edition="developer")
    ours = {*apps, *bare_apps}
    async with EventTap(
        running.infra.amqp_url, ["integration.configured", ROUTING_KEY], subjects=ours.__contains__
    ) as tap:
        flows = Flows(running, session, baseline, tap)
        to_configure, to_install, bare = iter(apps), iter(apps), iter(bare_apps)
        for _ in range(WARMUP):
            await flows.configure(next(to_configure))
            await flows.bare_write_told(next(bare))
        configured, told = await paired(
            _each(flows.configure, to_configure), _each(flows.bare_write_told, bare), COUNT
        )
        for app_id in apps:
            if not await eventually(partial(_installable, client, app_id), timeout=15):
                raise RuntimeError(f"{TEMPLATE} never became installable for {app_id}")
        for _ in range(WARMUP):
            await flows.install(next(to_install))
            await flows.bare_write(next(bare))
        installed, answered = await paired(
            _each(flows.install, to_install), _each(flows.bare_write, bare), COUNT
        )
    compare(
        "flows.configure",
        f"PUT authorization user_authorize -> integration.configured consumed ({COUNT} sequential)",
        "bare aiohttp insert + confirmed publish -> consumed",
        latency_figures(configured, told),
    )
    compare(
        "flows.install",
        f"POST template-installations {TEMPLATE} -> 201 ({COUNT} sequential)",
        "bare aiohttp insert + confirmed publish -> 201",
        latency_figures(installed, answered),
    )


async def main() -> None:
    async with (
        system("flows") as (running, logs),
        browser() as session,
        serving(running.infra, logs / "baseline.log") as baseline,
    ):
        await measure(running, session, baseline)


if __name__ == "__main__":
    asyncio.run(main())
