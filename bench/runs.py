"""A run of Confluence "Create Content" through template-service, beside the same calls made
directly.

Subject: `POST /v1/apps/{app}/dialog-tasks/{task}/runs` on an installed
`confluence.create_content` task of a pre-authorized app (real consent), timed until its 201
with status `succeeded`. Baseline: what the template makes, made by hand with aiohttp: the
access-token call to auth-service, then on the Atlassian stand-in `GET
/oauth/token/accessible-resources`, `GET {api_base_url}/wiki/api/v2/spaces?keys=ENG` and
`POST {api_base_url}/wiki/api/v2/pages`. The difference is template-service's own work: the JWT,
the task and state reads, rendering, storing the run and its `dialog_task.run_finished` event.
Sequential, COUNT each, alternating. Goal: p50 at most 1.2x the baseline's plus 10 ms.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from bench.report import Figure, compare, paired
from bench.stack import browser, system
from platform_core.service_auth import Scope
from tests.support.scenarios import connected_app, installed
from tests.support.system import System

COUNT = 50
WARMUP = 3
TEMPLATE = "confluence.create_content"
SPACE_KEY = "ENG"
GOAL_FACTOR, GOAL_MS = 1.2, 10.0


def entities() -> dict[str, str]:
    return {
        "contentType": "page",
        "spaceKey": SPACE_KEY,
        "contentTitle": f"Bench {uuid.uuid4().hex[:12]}",
        "contentBody": "<p>Benchmark page</p>",
    }


async def _json(response: aiohttp.ClientResponse, status: int) -> Any:
    if response.status != status:
        raise RuntimeError(
            f"{response.method} {response.url} -> {response.status}: {await response.text()}"
        )
    return await response.json(content_type=None)


class CreateContent:
    def __init__(
        self, running: System, session: aiohttp.ClientSession, app_id: str, task: str
    ) -> None:
        self._running = running
        self._session = session
        self._app_id = app_id
        self._run_url = f"{running.template.url}/v1/apps/{app_id}/dialog-tasks/{task}/runs"
        self._run_headers = running.headers(Scope.RUN_ACTIONS)
        self._token_url = (
            f"{running.auth_url}/v1/apps/{app_id}/integrations/confluence/access-token"
        )
        self._token_headers = running.headers(Scope.ISSUE_TOKENS)

    async def through_template(self) -> None:
        body = {"entities": entities()}
        async with self._session.post(self._run_url, json=body, headers=self._run_headers) as r:
            run = await _json(r, 201)
        if run["status"] != "succeeded":
            raise RuntimeError(f"the run did not succeed: {run}")

    async def directly(self) -> None:
        body = {"subject": {"type": "app"}, "min_valid_seconds": 60}
        async with self._session.post(self._token_url, json=body, headers=self._token_headers) as r:
            token = await _json(r, 200)
        api = token["resource"]["api_base_url"]
        headers = {"Accept": "application/json", "Authorization": f"Bearer {token['access_token']}"}
        sites = f"{self._running.atlassian.base_url}/oauth/token/accessible-resources"
        async with self._session.get(sites, headers=headers) as r:
            await _json(r, 200)
        spaces_url = f"{api}/wiki/api/v2/spaces"
        async with self._session.get(spaces_url, params={"keys": SPACE_KEY}, headers=headers) as r:
            spaces = await _json(r, 200)
        chosen = entities()
        page = {
            "spaceId": str(spaces["results"][0]["id"]),
            "status": "current",
            "title": chosen["contentTitle"],
            "body": {"representation": "storage", "value": chosen["contentBody"]},
        }
        async with self._session.post(f"{api}/wiki/api/v2/pages", json=page, headers=headers) as r:
            await _json(r, 200)


async def measure(running: System, session: aiohttp.ClientSession) -> None:
    client = running.client(session)
    app_id = await connected_app(client, browser=session)
    task = await installed(client, app_id, TEMPLATE)
    calls = CreateContent(running, session, app_id, task)
    for _ in range(WARMUP):
        await calls.through_template()
        await calls.directly()
    subject, baseline = await paired(calls.through_template, calls.directly, COUNT)
    limit = GOAL_FACTOR * baseline.p50 + GOAL_MS
    goal = f"<= {GOAL_FACTOR}x + {GOAL_MS:.0f} ms ({limit:.1f} ms)"
    compare(
        "runs.create_content",
        f"POST dialog-tasks/{{task}}/runs {TEMPLATE} -> 201 succeeded ({COUNT} sequential)",
        "access-token + the template's 3 Atlassian calls made directly with aiohttp",
        [
            Figure("p50", subject.p50, baseline.p50, "ms", goal, subject.p50 <= limit),
            Figure("p99", subject.p99, baseline.p99, "ms"),
        ],
    )


async def main() -> None:
    async with system("runs") as (running, _), browser() as session:
        await measure(running, session)


if __name__ == "__main__":
    asyncio.run(main())
