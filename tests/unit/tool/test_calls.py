"""A tools/call on fakes: which task runs for whom, with which key, and how a consent is waited
for."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tests.support.waiting import eventually
from tests.unit.tool.fakes import APP, FakeAnnouncer, FakeTemplateService, caller, report, tool
from tool_service.domain.results import ConsentNeeded, ToolOutcome
from tool_service.domain.runs import RunRefusal
from tool_service.service_layer.calls import ConsentLimits, ToolCalls, UnknownTool
from tool_service.service_layer.catalog import ToolCatalog
from tool_service.service_layer.consent import ConsentWaiters
from tool_service.service_layer.ports import TemplateServiceUnavailable

NAME = "confluence_create_content"


class World:
    def __init__(self, wait_seconds: float = 5.0, poll_seconds: float = 5.0) -> None:
        self.templates = FakeTemplateService()
        self.templates.apps[APP] = [tool()]
        self.catalog = ToolCatalog(self.templates, ttl_seconds=60)
        self.announcer = FakeAnnouncer()
        self.waiters = ConsentWaiters()
        counter = itertools.count(1)
        self.calls = ToolCalls(
            self.catalog,
            self.templates,
            self.announcer,
            self.waiters,
            ConsentLimits(wait_seconds, poll_seconds),
            keys=lambda: f"key-{next(counter)}",
        )


async def test_a_call_runs_the_tools_task_for_the_app_with_a_new_key_each_time() -> None:
    world = World()
    first = await world.calls.call(caller(), NAME, {"spaceKey": "ENG"})
    await world.calls.call(caller(), NAME, {"spaceKey": "ENG"})
    assert isinstance(first, ToolOutcome) and first.kind == "succeeded"
    assert [run["idempotency_key"] for run in world.templates.runs] == ["key-1", "key-2"]
    assert world.templates.runs[0] == {
        "app_id": APP,
        "dialog_task_id": "dt_1",
        "entities": {"spaceKey": "ENG"},
        "subject": {"type": "app"},
        "idempotency_key": "key-1",
    }


async def test_a_call_for_an_end_user_runs_as_that_user() -> None:
    world = World()
    await world.calls.call(caller(user_id="u-7"), NAME, {})
    assert world.templates.runs[0]["subject"] == {"type": "user", "user_id": "u-7"}


async def test_a_tool_installed_a_moment_ago_is_found_by_asking_again() -> None:
    world = World()
    world.templates.apps[APP] = []
    assert await world.catalog.tools(APP) == ()
    world.templates.apps[APP] = [tool()]
    outcome = await world.calls.call(caller(), NAME, {})
    assert isinstance(outcome, ToolOutcome) and outcome.kind == "succeeded"
    assert world.templates.listings == [APP, APP]


async def test_an_unknown_tool_is_a_protocol_error_after_one_more_look() -> None:
    world = World()
    with pytest.raises(UnknownTool):
        await world.calls.call(caller(), "confluence_delete_everything", {})
    assert world.templates.listings == [APP, APP]
    assert world.templates.runs == []


async def test_a_task_uninstalled_under_the_agent_drops_the_list_and_tells_its_clients() -> None:
    world = World()
    world.templates.answers = [RunRefusal.of(404, {"code": "dialog_task_not_found"})]
    outcome = await world.calls.call(caller(), NAME, {})
    assert isinstance(outcome, ToolOutcome) and outcome.is_error
    assert "no longer installed" in outcome.text[0]
    assert world.announcer.changed == [APP]
    await world.catalog.tools(APP)
    assert world.templates.listings == [APP, APP]


async def test_template_service_down_is_an_error_result_not_a_failed_request() -> None:
    world = World()
    world.templates.answers = [TemplateServiceUnavailable("runs answered 401")]
    outcome = await world.calls.call(caller(), NAME, {})
    assert isinstance(outcome, ToolOutcome) and outcome.kind == "unavailable"

    world.templates.down = True
    world.catalog.forget(APP)
    listed = await world.calls.call(caller(), NAME, {})
    assert isinstance(listed, ToolOutcome) and listed.is_error and NAME in listed.text[0]


async def test_a_run_needing_consent_is_handed_back_to_ask_the_user() -> None:
    world = World()
    world.templates.answers = [report("authorization_required")]
    needed = await world.calls.call(caller(user_id="u-1"), NAME, {})
    assert isinstance(needed, ConsentNeeded)
    assert needed.link == "https://auth.example/connect/abc"


async def test_after_an_accepted_consent_the_call_runs_again_with_a_new_key() -> None:
    world = World()
    outcome = await world.calls.after_consent(caller(user_id="u-1"), NAME, {}, "accept")
    assert outcome.kind == "succeeded"
    assert [run["idempotency_key"] for run in world.templates.runs] == ["key-1"]


@pytest.mark.parametrize("action", ["decline", "cancel"])
async def test_a_declined_consent_runs_nothing(action: str) -> None:
    world = World()
    outcome = await world.calls.after_consent(caller(user_id="u-1"), NAME, {}, action)  # type: ignore[arg-type]
    assert outcome.kind == "declined" and outcome.is_error
    assert world.templates.runs == []


async def test_an_accepted_consent_still_in_the_browser_is_waited_for_until_it_completes() -> None:
    world = World(wait_seconds=30, poll_seconds=30)
    world.templates.answers = [report("authorization_required"), report("succeeded")]
    call = asyncio.create_task(world.calls.after_consent(caller(user_id="u-1"), NAME, {}, "accept"))
    assert await eventually(lambda: world.waiters.waiting(APP, "u-1"))
    world.waiters.completed(APP, "someone-else")
    await asyncio.sleep(0.01)
    assert not call.done()
    world.waiters.completed(APP, "u-1")
    outcome = await asyncio.wait_for(call, 5)
    assert outcome.kind == "succeeded"
    assert len(world.templates.runs) == 2


async def test_a_consent_not_finished_in_time_gives_the_link_back() -> None:
    world = World(wait_seconds=0.05, poll_seconds=0.02)
    world.templates.answers = [report("authorization_required") for _ in range(20)]
    outcome = await world.calls.after_consent(caller(user_id="u-1"), NAME, {}, "accept")
    assert outcome.kind == "authorization_required" and outcome.is_error
    assert "https://auth.example/connect/abc" in outcome.text[0]
    assert 2 <= len(world.templates.runs) <= 5  # looked again every poll, not in a busy loop
