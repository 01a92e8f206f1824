"""A simulated police receiving centre on a free port, for tests (a real HTTP server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

from simulators.police import PoliceCentre, PoliceOptions, serve_police
from tests.support.services import free_port
from tests.support.site import SECRET


@dataclass
class RunningCentre:
    centre: PoliceCentre
    url: str


@asynccontextmanager
async def police_centre(**options: object) -> AsyncIterator[RunningCentre]:
    centre = PoliceCentre(PoliceOptions(secret=SECRET, **options))  # type: ignore[arg-type]
    port = free_port()
    ready = asyncio.Event()
    task = asyncio.create_task(
        serve_police(centre.options, host="127.0.0.1", port=port, ready=ready, centre=centre),
        name="test-police",
    )
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield RunningCentre(centre, f"http://127.0.0.1:{port}/alarms")
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


async def eventually(predicate: object, timeout_s: float = 20.0, what: str = "condition") -> None:
    """Poll `predicate()` (sync or async) until true; fail with `what` after the timeout."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        result = predicate()  # type: ignore[operator]
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        await asyncio.sleep(0.05)
