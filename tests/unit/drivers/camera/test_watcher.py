"""The watcher's state machine, with a picture file as the camera (no network)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import pytest

from drivers.camera import (
    CameraEvent,
    CameraLinkChanged,
    CameraPresenceWatcher,
    PresenceChanged,
    PresenceSettings,
)
from drivers.camera.snapshots import encode_jpeg
from gateway.errors import ConfigError
from simulators.camera import CameraOptions, draw_post, render
from tests.support.police import eventually

OPTIONS = CameraOptions(seed=11)
POST = draw_post(OPTIONS)
WAIT_S = 30.0


def show(path: Path, *, present: bool, frame: int = 1) -> None:
    """Put a new picture in place atomically, as a camera would serve it."""
    image = render(OPTIONS, present=present, frame=frame, post=POST)
    part = path.with_suffix(".part.jpg")
    part.write_bytes(encode_jpeg(image))
    os.replace(part, path)


@asynccontextmanager
async def watching(url: str, settings: PresenceSettings) -> AsyncIterator[list[CameraEvent]]:
    events: list[CameraEvent] = []

    async def consume(watcher: CameraPresenceWatcher) -> None:
        async for event in watcher.events():
            events.append(event)

    async with CameraPresenceWatcher("cam-1", url, settings) as watcher:
        task = asyncio.create_task(consume(watcher), name="watch-cam-1")
        try:
            yield events
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def summary(events: list[CameraEvent]) -> list[str]:
    return [
        f"present={e.present}" if isinstance(e, PresenceChanged) else f"online={e.online}"
        for e in events
    ]


async def until(events: list[CameraEvent], expected: list[str]) -> None:
    await eventually(lambda: summary(events) == expected, WAIT_S, f"events {expected}")


async def test_a_file_camera_through_arrival_outage_and_return(tmp_path: Path) -> None:
    picture = tmp_path / "cam.jpg"
    reference = tmp_path / "empty.jpg"
    show(reference, present=False, frame=0)
    show(picture, present=False)
    settings = PresenceSettings(
        interval_s=0.05, timeout_s=5, confirm_frames=2, reference_path=str(reference)
    )
    async with watching(str(picture), settings) as events:
        await until(events, ["online=True", "present=False"])
        show(picture, present=True)
        await until(events, ["online=True", "present=False", "present=True"])
        picture.unlink()
        await until(events, ["online=True", "present=False", "present=True", "online=False"])
        offline = events[-1]
        assert isinstance(offline, CameraLinkChanged)
        assert "3 fetches failed in a row" in offline.detail and "cam.jpg" in offline.detail
        show(picture, present=True, frame=2)
        before = ["online=True", "present=False", "present=True", "online=False"]
        # The state is reported afresh after the outage: it may have changed meanwhile.
        await until(events, [*before, "online=True", "present=True"])


async def test_undecodable_pictures_count_as_failures(tmp_path: Path) -> None:
    picture = tmp_path / "cam.jpg"
    picture.write_bytes(b"<html>Please log in</html>")
    settings = PresenceSettings(interval_s=0.05, offline_after_failures=2)
    async with watching(str(picture), settings) as events:
        await until(events, ["online=False"])
        offline = events[0]
        assert isinstance(offline, CameraLinkChanged)
        assert "not a decodable image (26 bytes starting '<html>Please log" in offline.detail


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "No such file"), (b"not a picture", "not a decodable image")],
)
async def test_an_unusable_reference_is_a_configuration_error(
    tmp_path: Path, content: bytes | None, problem: str
) -> None:
    reference = tmp_path / "empty.jpg"
    if content is not None:
        reference.write_bytes(content)
    watcher = CameraPresenceWatcher(
        "cam-1", "http://127.0.0.1:9/x.jpg", PresenceSettings(reference_path=str(reference))
    )
    with pytest.raises(ConfigError) as caught:
        async with watcher:
            pass
    assert caught.value.problems[0].startswith(f"camera cam-1: reference_path {reference}: ")
    assert problem in caught.value.problems[0]


async def test_events_outside_async_with_is_a_programming_error() -> None:
    watcher = CameraPresenceWatcher("cam-1", "/nowhere.jpg", PresenceSettings())
    with pytest.raises(RuntimeError, match="async with"):
        await anext(aiter(watcher.events()))
