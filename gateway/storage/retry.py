"""Waiting out a database that is away: retry with capped backoff, and say so on the health
board (logged once when it goes, once when it comes back)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from gateway.health import HealthBoard

T = TypeVar("T")
RETRY_INITIAL_S = 0.5
RETRY_MAX_S = 30.0


async def with_database(work: Callable[[], Awaitable[T]], health: HealthBoard) -> T:
    """`await work()` until it succeeds. For work that must not be dropped or guessed at
    (an alert, what the record says) when the database fails for a while."""
    delay = RETRY_INITIAL_S
    while True:
        try:
            return await work()
        except Exception as exc:  # the database driver's errors, whatever they are
            health.report("database", up=False, detail=f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX_S, delay * 2)
