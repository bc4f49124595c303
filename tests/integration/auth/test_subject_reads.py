"""Credential reads gathered per event-loop turn, against the real MongoDB-compatible server:
every caller gets its own subject's document, in fewer queries than calls, and never a document
read before its call arrived."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection

from auth_service.adapters.subject_reads import SubjectReads
from platform_core.mongo import Document
from tests.support.infra import Infra

pytestmark = [pytest.mark.mongo]


class Finds(monitoring.CommandListener):
    """The `find` commands sent, and an event set as each one leaves."""

    def __init__(self) -> None:
        self.filters: list[Document] = []
        self.sent = asyncio.Event()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find":
            self.filters.append(dict(event.command["filter"]))
            self.sent.set()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def watched(
    infra: Infra, unique: str
) -> AsyncIterator[tuple[AsyncCollection[Document], Finds]]:
    finds = Finds()
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        infra.mongodb_url, tz_aware=True, event_listeners=[finds]
    )
    db = client[f"t_{unique}_reads"]
    try:
        yield db["credentials"], finds
    finally:
        await client.drop_database(db.name)
        await client.close()


def credential(app_id: str, subject_key: str, version: int = 1) -> Document:
    return {
        "_id": f"cred-{app_id}-{subject_key}",
        "app_id": app_id,
        "integration": "confluence",
        "subject_key": subject_key,
        "version": version,
    }


async def test_calls_of_one_turn_share_a_query_per_app_and_each_gets_its_own_subject(
    watched: tuple[AsyncCollection[Document], Finds],
) -> None:
    credentials, finds = watched
    stored = [
        credential(app, subject) for app in ("app-a", "app-b") for subject in ("app", "user:u1")
    ]
    await credentials.insert_many(stored)
    reads = SubjectReads(credentials)
    asked = [
        (app, "confluence", subject)
        for app in ("app-a", "app-b")
        for subject in ("app", "user:u1", "user:nobody", "app")
    ]

    answers = await asyncio.gather(*(reads.find(ref) for ref in asked))

    for (app, _, subject), doc in zip(asked, answers, strict=True):
        if subject == "user:nobody":
            assert doc is None
        else:
            assert doc is not None
            assert (doc["app_id"], doc["subject_key"]) == (app, subject)
    # Eight calls, one query per app, each for the distinct subjects asked.
    assert len(finds.filters) == 2
    assert sorted(f["app_id"] for f in finds.filters) == ["app-a", "app-b"]
    for sent in finds.filters:
        assert sent["subject_key"] == {"$in": ["app", "user:nobody", "user:u1"]}


async def test_a_call_made_while_a_read_is_in_flight_is_answered_by_a_later_read(
    watched: tuple[AsyncCollection[Document], Finds],
) -> None:
    credentials, finds = watched
    await credentials.insert_one(credential("app-a", "app", version=1))
    reads = SubjectReads(credentials)
    ref = ("app-a", "confluence", "app")

    first = asyncio.create_task(reads.find(ref))
    await asyncio.wait_for(finds.sent.wait(), 10)
    # Written after the first read left: a call made now must see it.
    await credentials.update_one({"_id": "cred-app-a-app"}, {"$set": {"version": 2}})
    second = await reads.find(ref)

    assert second is not None and second["version"] == 2
    assert (await first) is not None
    assert len(finds.filters) == 2


async def test_a_batch_never_asks_for_more_than_its_bound(
    watched: tuple[AsyncCollection[Document], Finds],
) -> None:
    credentials, finds = watched
    await credentials.insert_many([credential("app-a", f"user:u{n}") for n in range(10)])
    reads = SubjectReads(credentials, max_batch=4)

    answers = await asyncio.gather(
        *(reads.find(("app-a", "confluence", f"user:u{n}")) for n in range(10))
    )

    assert [doc["subject_key"] for doc in answers if doc] == [f"user:u{n}" for n in range(10)]
    assert sorted(len(sent["subject_key"]["$in"]) for sent in finds.filters) == [2, 4, 4]
