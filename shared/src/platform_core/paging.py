"""The one paging model of every list (contract §0): `{"items", "next_cursor"}`, keyset paged.

`page_of` pages a list already in memory (catalogs); `find_page` pages a MongoDB collection by
`_id` (everything stored). Both take the request's `PageQuery`; the cursor is the last key of
the page, and `next_cursor` is null on the last page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from platform_core.api import PageQuery
from platform_core.mongo import Document

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def page_of(items: Sequence[T], key: Callable[[T], str], query: PageQuery) -> Page[T]:
    """Keyset paging over items sorted by `key`."""
    remaining = [item for item in items if query.cursor is None or key(item) > query.cursor]
    page = remaining[: query.limit]
    more = len(remaining) > query.limit
    return Page(page, key(page[-1]) if more and page else None)


async def find_page(
    collection: AsyncCollection[Document],
    where: Mapping[str, Any],
    query: PageQuery,
    parse: Callable[[Document], T],
    session: AsyncClientSession | None = None,
) -> Page[T]:
    """One page of the documents matching `where`, in `_id` order."""
    condition = dict(where)
    if query.cursor is not None:
        condition["_id"] = {"$gt": query.cursor}
    cursor = collection.find(condition, session=session).sort("_id", ASCENDING)
    docs = await cursor.limit(query.limit + 1).to_list()
    more = len(docs) > query.limit
    docs = docs[: query.limit]
    return Page([parse(doc) for doc in docs], str(docs[-1]["_id"]) if more else None)
