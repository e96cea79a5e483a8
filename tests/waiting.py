"""Wait for a condition instead of sleeping a fixed time.

Tests must not pass or fail with the machine's speed: they wait until what they expect has
happened. The deadline only bounds a test that is failing anyway, so it is generous (a loaded
2-core machine can stall the event loop for seconds); a passing test returns as soon as the
condition holds.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 30.0


async def eventually(cond: Callable[[], T | Awaitable[T]], what: str, *, timeout: float = DEADLINE,
                     interval: float = 0.01) -> T:
    """Poll ``cond()`` (sync or async) until it returns something true and return that.

    Raises AssertionError naming ``what`` after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        r = cond()
        if inspect.isawaitable(r):
            r = await r
        if r:
            return r  # type: ignore[return-value]
        if loop.time() >= end:
            raise AssertionError(f"still waiting after {timeout:g} s for {what}")
        await asyncio.sleep(interval)


def eventually_sync(cond: Callable[[], T], what: str, *, timeout: float = DEADLINE, interval: float = 0.005) -> T:
    """:func:`eventually` for code without an event loop (threads)."""
    end = time.monotonic() + timeout
    while True:
        r = cond()
        if r:
            return r
        if time.monotonic() >= end:
            raise AssertionError(f"still waiting after {timeout:g} s for {what}")
        time.sleep(interval)
