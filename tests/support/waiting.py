"""Waiting for something asynchronous to become true, without fixed sleeps."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(check: Callable[[], T | Awaitable[T]], timeout: float = 10.0) -> T:
    """Poll `check` (sync or async) until it returns something truthy; return its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        value: T = await result if inspect.isawaitable(result) else result  # type: ignore[assignment]
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.05)
