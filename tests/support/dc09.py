"""A simulated SIA DC-09 receiving centre on a free port, for tests (real TCP and UDP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

from simulators.dc09_receiver import Dc09Receiver, serve_dc09_receiver


@asynccontextmanager
async def serving(centre: Dc09Receiver, port: int = 0) -> AsyncIterator[Dc09Receiver]:
    """Serve `centre` until the block ends; its records survive a stop and a new start."""
    ready = asyncio.Event()
    options = replace(centre.options, port=port)
    task = asyncio.create_task(
        serve_dc09_receiver(options, ready=ready, receiver=centre), name="test-dc09-receiver"
    )
    waiting = asyncio.create_task(ready.wait())
    try:
        await asyncio.wait({task, waiting}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # a bind error surfaces here
        assert ready.is_set(), "the DC-09 receiver did not start"
        yield centre
    finally:
        waiting.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
