"""Following the platform's events: a template change drops the app's tools and tells its
clients, a user's completed consent wakes the calls waiting for it, and the consumer's unit of
work without a database loses nothing and lets duplicates through harmlessly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from platform_core.contract_types import AppSubject, SiteResource, SystemProfileRef, UserSubject
from platform_core.events import (
    AuthorizationCompleted,
    CloudEvent,
    DialogTaskUpdated,
    EventData,
    TemplateInstalled,
    TemplateUninstalled,
    new_event,
)
from platform_core.unit_of_work import AlreadyProcessed, Transaction
from tests.unit.tool.fakes import APP, FakeAnnouncer, FakeTemplateService, tool
from tool_service.adapters.memory_uow import MemoryTransactions, NoOutbox
from tool_service.service_layer.catalog import ToolCatalog
from tool_service.service_layer.consent import ConsentWaiters
from tool_service.service_layer.reactions import Reactions


class World:
    def __init__(self) -> None:
        self.templates = FakeTemplateService()
        self.templates.apps[APP] = [tool()]
        self.catalog = ToolCatalog(self.templates, ttl_seconds=300)
        self.announcer = FakeAnnouncer()
        self.waiters = ConsentWaiters()
        self.reactions = Reactions(self.catalog, self.announcer, self.waiters)
        self.uow = MemoryTransactions("/tool-service")

    async def deliver(self, data: EventData, envelope: CloudEvent | None = None) -> None:
        envelope = envelope or new_event("/template-service", data)
        (subscription,) = [
            s for s in self.reactions.subscriptions() if s.routing_key == envelope.type
        ]

        async def work(tx: Transaction[Any]) -> None:
            await subscription.handle(tx, data, envelope)

        await self.uow.run(work, processing=envelope)


def completed(subject: AppSubject | UserSubject) -> AuthorizationCompleted:
    return AuthorizationCompleted(
        app_id=APP,
        authorization_id="auth_1",
        integration="confluence",
        subject=subject,
        credential_id="cred_1",
        profile=SystemProfileRef(),
        scopes=["read:page:confluence"],
        resource=SiteResource(cloud_id="c1", site_url="https://acme.atlassian.net"),
    )


def test_tool_service_follows_the_template_events_and_completed_consents() -> None:
    keys = {s.routing_key for s in World().reactions.subscriptions()}
    assert keys == {
        "template.installed",
        "template.uninstalled",
        "dialog_task.updated",
        "authorization.completed",
    }


@pytest.mark.parametrize(
    "change",
    [
        TemplateInstalled(
            app_id=APP,
            template_id="confluence.get_content",
            template_version="1",
            installation_id="in_1",
            dialog_task_id="dt_2",
        ),
        TemplateUninstalled(
            app_id=APP,
            template_id="confluence.get_content",
            installation_id="in_1",
            dialog_task_id="dt_2",
        ),
        DialogTaskUpdated(app_id=APP, dialog_task_id="dt_1", status="integration_disabled"),
    ],
    ids=["installed", "uninstalled", "task updated"],
)
async def test_a_template_change_drops_the_apps_tools_and_tells_its_clients(
    change: EventData,
) -> None:
    world = World()
    await world.catalog.tools(APP)
    await world.deliver(change)
    assert world.announcer.changed == [APP]
    await world.catalog.tools(APP)
    assert world.templates.listings == [APP, APP]


async def test_the_same_event_delivered_again_to_the_process_is_skipped() -> None:
    world = World()
    change = DialogTaskUpdated(app_id=APP, dialog_task_id="dt_1", status="active")
    envelope = new_event("/template-service", change)
    await world.deliver(change, envelope)
    with pytest.raises(AlreadyProcessed):
        await world.deliver(change, envelope)
    assert world.announcer.changed == [APP]


async def test_a_completed_consent_wakes_the_calls_waiting_for_that_user_only() -> None:
    world = World()
    await world.deliver(completed(AppSubject()))
    assert await world.waiters.wait(APP, "u-1", 0.01) is False

    waiting = asyncio.create_task(world.waiters.wait(APP, "u-1", 5))
    await asyncio.sleep(0)
    await world.deliver(completed(UserSubject(user_id="u-2")))
    assert not waiting.done()
    await world.deliver(completed(UserSubject(user_id="u-1")))
    assert await waiting is True
    assert world.waiters.waiting(APP, "u-1") == 0


async def test_a_failed_handler_is_not_remembered_so_its_retry_runs() -> None:
    uow = MemoryTransactions("/tool-service")
    envelope = new_event(
        "/template-service", DialogTaskUpdated(app_id=APP, dialog_task_id="d", status="active")
    )
    runs: list[int] = []

    async def flaky(tx: Transaction[None]) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("announcing failed")

    with pytest.raises(RuntimeError):
        await uow.run(flaky, processing=envelope)
    await uow.run(flaky, processing=envelope)
    assert len(runs) == 2


async def test_a_handler_may_not_raise_events_there_is_no_outbox() -> None:
    uow = MemoryTransactions("/tool-service")

    async def publishing(tx: Transaction[None]) -> None:
        tx.publish(DialogTaskUpdated(app_id=APP, dialog_task_id="d", status="active"))

    with pytest.raises(NoOutbox):
        await uow.run(publishing)


async def test_the_window_of_remembered_events_is_bounded() -> None:
    uow = MemoryTransactions("/tool-service", recent=2)
    envelopes = [
        new_event("/t", DialogTaskUpdated(app_id=APP, dialog_task_id=f"d{i}", status="active"))
        for i in range(3)
    ]

    async def nothing(tx: Transaction[None]) -> None:
        return None

    for envelope in envelopes:
        await uow.run(nothing, processing=envelope)
    await uow.run(nothing, processing=envelopes[0])  # forgotten: let through, harmlessly
    with pytest.raises(AlreadyProcessed):
        await uow.run(nothing, processing=envelopes[2])
