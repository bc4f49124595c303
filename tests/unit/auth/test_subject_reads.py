"""SubjectReads on its own: a failed read fails every call it would have answered, and only
those; a call whose caller gave up does not disturb the others."""

from __future__ import annotations

import asyncio

import pytest

from auth_service.adapters.subject_reads import SubjectReads
from platform_core.mongo import Document

REF = ("app-a", "confluence", "app")
DOC = {"_id": "cred-1", "app_id": "app-a", "integration": "confluence", "subject_key": "app"}


class FlakyCredentials:
    """Fails its first query, answers the later ones."""

    def __init__(self) -> None:
        self.queries = 0

    async def find_one(self, where: Document) -> Document | None:
        self.queries += 1
        await asyncio.sleep(0)
        if self.queries == 1:
            raise ConnectionError("the database went away")
        return dict(DOC)


async def test_a_failed_read_fails_every_call_it_answers_and_the_next_read_is_fresh() -> None:
    collection = FlakyCredentials()
    reads = SubjectReads(collection)  # type: ignore[arg-type]

    outcomes = await asyncio.gather(*(reads.find(REF) for _ in range(3)), return_exceptions=True)

    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes)
    assert await reads.find(REF) == DOC
    assert collection.queries == 2


async def test_a_caller_that_gives_up_leaves_the_others_their_answer() -> None:
    collection = FlakyCredentials()
    collection.queries = 1  # no failure here
    reads = SubjectReads(collection)  # type: ignore[arg-type]

    impatient = asyncio.create_task(reads.find(REF))
    patient = asyncio.create_task(reads.find(REF))
    await asyncio.sleep(0)
    impatient.cancel()

    assert await patient == DOC
    with pytest.raises(asyncio.CancelledError):
        await impatient
