"""The system Chromium for browser tests (Playwright drives it; it never downloads one), and
the gateway served over real HTTP for it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from tests.support.services import free_port, missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path is not None:
            return path
    missing("Chromium", "apt-get install chromium")
    raise AssertionError("unreachable")


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app (with its lifespan) on a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test-http")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("the server stopped before it started")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=15)
