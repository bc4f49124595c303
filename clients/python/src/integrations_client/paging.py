"""Lists (contract §0): `{"items", "next_cursor"}`, keyset paged with `?limit=` and `?cursor=`.

Each list method of the client returns a `Pager`: nothing is requested until it is iterated;
`async for item in pager` walks every item of every page, `pager.pages()` the pages
themselves, and `await pager.collect()` gathers the items into a list. The `*_page` methods
fetch exactly one page, for a caller that keeps the cursor itself.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from typing import Generic, TypeVar

from integrations_client.errors import UnexpectedResponse
from integrations_client.models import Page

__all__ = ["MAX_LIMIT", "PageFetch", "Pager"]

ItemT = TypeVar("ItemT")
MAX_LIMIT = 200
PageFetch = Callable[[int | None, str | None], Awaitable[Page[ItemT]]]


def check_limit(limit: int | None) -> int | None:
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


class Pager(Generic[ItemT]):
    """Every item of a list, page by page; `limit` is the page size asked for."""

    def __init__(
        self,
        fetch: PageFetch[ItemT],
        *,
        limit: int | None = None,
        service: str = "",
        url: str = "",
    ) -> None:
        self._fetch = fetch
        self._limit = check_limit(limit)
        self._service, self._url = service, url

    async def pages(self) -> AsyncGenerator[Page[ItemT], None]:
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = await self._fetch(self._limit, cursor)
            yield page
            if page.next_cursor is None:
                return
            if page.next_cursor in seen:
                # A server handing back a cursor it gave before would loop us forever.
                raise UnexpectedResponse(
                    self._service, "GET", self._url, 200, "the list repeated a cursor"
                )
            seen.add(page.next_cursor)
            cursor = page.next_cursor

    async def _items(self) -> AsyncGenerator[ItemT, None]:
        async for page in self.pages():
            for item in page.items:
                yield item

    def __aiter__(self) -> AsyncIterator[ItemT]:
        return self._items()

    async def collect(self, max_items: int | None = None) -> list[ItemT]:
        """The items, all of them or the first `max_items`."""
        items: list[ItemT] = []
        if max_items is not None and max_items <= 0:
            return items
        # aclosing: stopping early must close the generator now, not whenever it is collected.
        async with aclosing(self._items()) as iterator:
            async for item in iterator:
                items.append(item)
                if max_items is not None and len(items) >= max_items:
                    break
        return items
