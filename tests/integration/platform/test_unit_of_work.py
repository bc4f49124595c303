"""A change and the events it raises commit together or not at all."""

from __future__ import annotations

import pytest
from pymongo.errors import DuplicateKeyError

from platform_core.events import IntegrationEnabled
from platform_core.outbox import OUTBOX
from platform_core.unit_of_work import Transaction
from tests.integration.platform.conftest import Parts
from tests.support.raw import RawCollections

pytestmark = [pytest.mark.mongo, pytest.mark.broker]


async def test_a_committed_change_stores_its_event_in_the_outbox(
    parts_without_relay: Parts,
) -> None:
    parts = parts_without_relay

    async def work(tx: Transaction[RawCollections]) -> None:
        await tx.repos.things.insert_one({"_id": "a"})
        tx.publish(IntegrationEnabled(app_id="app-1", integration="confluence"))

    await parts.uow.run(work)

    assert await parts.db.things.count_documents({}) == 1
    stored = await parts.db[OUTBOX].find_one({})
    assert stored is not None
    assert stored["event"]["type"] == "integration.enabled"
    assert stored["aggregate"] == "app-1"


async def test_a_write_failing_half_way_leaves_neither_the_change_nor_the_event(
    parts: Parts,
) -> None:
    await parts.db.things.insert_one({"_id": "taken"})

    async def work(tx: Transaction[RawCollections]) -> None:
        await tx.repos.things.insert_one({"_id": "new"})
        tx.publish(IntegrationEnabled(app_id="app-1", integration="confluence"))
        await tx.repos.things.insert_one({"_id": "taken"})

    with pytest.raises(DuplicateKeyError):
        await parts.uow.run(work)

    assert await parts.db.things.find_one({"_id": "new"}) is None
    assert await parts.db[OUTBOX].count_documents({}) == 0


async def test_an_exception_in_the_handler_rolls_everything_back(parts: Parts) -> None:
    class Refused(Exception):
        pass

    async def work(tx: Transaction[RawCollections]) -> None:
        await tx.repos.things.insert_one({"_id": "x"})
        tx.publish(IntegrationEnabled(app_id="app-1", integration="confluence"))
        raise Refused

    with pytest.raises(Refused):
        await parts.uow.run(work)

    assert await parts.db.things.count_documents({}) == 0
    assert await parts.db[OUTBOX].count_documents({}) == 0
