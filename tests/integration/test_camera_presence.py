"""The camera driver against the simulated post camera: a real HTTP server, real OpenCV.

Waits are generous and nothing is timed: on a loaded machine frames just come slower.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import cv2
import httpx
import numpy as np
import pytest

from drivers.camera import (
    CameraEvent,
    CameraLinkChanged,
    CameraPresenceWatcher,
    PresenceChanged,
    PresenceSettings,
    fetch_snapshot,
)
from gateway.errors import DeviceUnavailable
from simulators.camera import CameraOptions, SimulatedCamera, render, serve_camera
from tests.support.police import eventually
from tests.support.services import free_port

WAIT_S = 30.0  # for something that should take well under a second
QUIET_FRAMES = 8  # frames watched to be sure nothing more is reported


@dataclass
class RunningCamera:
    camera: SimulatedCamera
    task: asyncio.Task[None]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.camera.port}"

    async def stop(self) -> None:
        self.task.cancel()
        with suppress(asyncio.CancelledError):
            await self.task


async def start_camera(options: CameraOptions) -> RunningCamera:
    camera = SimulatedCamera(options)
    ready = asyncio.Event()
    task = asyncio.create_task(serve_camera(options, camera=camera, ready=ready), name="sim-cam")
    running = RunningCamera(camera, task)
    try:
        await asyncio.wait_for(ready.wait(), WAIT_S)
    except BaseException:
        await running.stop()
        raise
    return running


@asynccontextmanager
async def running_camera(**options: object) -> AsyncIterator[RunningCamera]:
    running = await start_camera(CameraOptions(port=free_port(), **options))  # type: ignore[arg-type]
    try:
        yield running
    finally:
        await running.stop()


async def put(running: RunningCamera, path: str, body: object) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.put(f"{running.url}{path}", json=body)


@dataclass
class Recorder:
    events: list[CameraEvent] = field(default_factory=list)

    def presence(self) -> list[bool]:
        return [e.present for e in self.events if isinstance(e, PresenceChanged)]

    def links(self) -> list[bool]:
        return [e.online for e in self.events if isinstance(e, CameraLinkChanged)]

    async def wait_for(self, what: str, predicate: Callable[[CameraEvent], bool]) -> CameraEvent:
        await eventually(lambda: any(predicate(e) for e in self.events), WAIT_S, what)
        return next(e for e in self.events if predicate(e))

    async def wait_count(self, what: str, count: Callable[[], int], expected: int) -> None:
        await eventually(lambda: count() >= expected, WAIT_S, what)


@asynccontextmanager
async def watching(url: str, settings: PresenceSettings) -> AsyncIterator[Recorder]:
    recorder = Recorder()

    async def consume(watcher: CameraPresenceWatcher) -> None:
        async for event in watcher.events():
            recorder.events.append(event)

    async with CameraPresenceWatcher("cam-north", url, settings) as watcher:
        task = asyncio.create_task(consume(watcher), name="watch-cam-north")
        try:
            yield recorder
            assert not task.done(), "events() ended by itself"  # only cancellation ends it
        finally:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task


def fast(**changes: object) -> PresenceSettings:
    values: dict[str, object] = {"interval_s": 0.1, "timeout_s": 5.0, "confirm_frames": 2}
    values.update(changes)
    return PresenceSettings(**values)  # type: ignore[arg-type]


async def save_reference(running: RunningCamera, tmp_path: Path) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{running.url}/reference.jpg")
    response.raise_for_status()
    path = tmp_path / "empty-post.jpg"
    path.write_bytes(response.content)
    return str(path)


async def frames_pass(running: RunningCamera, count: int = QUIET_FRAMES) -> None:
    start = running.camera.frames
    await eventually(lambda: running.camera.frames >= start + count, WAIT_S, f"{count} frames")


def decoded_shape(data: bytes) -> tuple[int, ...]:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "the snapshot is not a JPEG OpenCV can decode"
    return tuple(image.shape)


def is_presence(e: CameraEvent) -> bool:
    return isinstance(e, PresenceChanged)


@pytest.mark.parametrize("reference", ["file", "first frame"])
async def test_initial_state_then_each_change_once(
    tmp_path: Path, reference: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="drivers.camera")
    async with running_camera() as cam:
        path = await save_reference(cam, tmp_path) if reference == "file" else None
        async with watching(f"{cam.url}/snapshot.jpg", fast(reference_path=path)) as seen:
            first = await seen.wait_for("the initial state", is_presence)
            assert isinstance(first, PresenceChanged)
            assert (first.camera_id, first.present) == ("cam-north", False)
            assert first.score < 0.01 and first.at.tzinfo is UTC
            assert first.snapshot.content_type == "image/jpeg"
            assert first.snapshot.camera_id == "cam-north"
            assert decoded_shape(first.snapshot.data) == (480, 640, 3)
            assert seen.events[0] == CameraLinkChanged(
                "cam-north", True, f"picture from {cam.url}/snapshot.jpg", seen.events[0].at
            )

            assert (await put(cam, "/presence", {"present": True})).status_code == 200
            await seen.wait_count("the guard arriving", lambda: len(seen.presence()), 2)
            came = [e for e in seen.events if isinstance(e, PresenceChanged)][1]
            assert came.present and came.score > 0.04
            assert decoded_shape(came.snapshot.data) == (480, 640, 3)
            await frames_pass(cam)
            assert seen.presence() == [False, True]

            assert (await put(cam, "/presence", {"present": False})).status_code == 200
            await seen.wait_count("the guard leaving", lambda: len(seen.presence()), 3)
            await frames_pass(cam)
            assert seen.presence() == [False, True, False]
            assert seen.links() == [True]
    took_first_frame = "taking this first frame as the empty post" in caplog.text
    assert took_first_frame is (reference == "first frame")


async def test_lights_switching_on_or_off_is_not_a_person(tmp_path: Path) -> None:
    async with running_camera() as cam:
        path = await save_reference(cam, tmp_path)
        async with watching(f"{cam.url}/snapshot.jpg", fast(reference_path=path)) as seen:
            await seen.wait_for("the initial state", is_presence)
            for gain in (1.7, 0.6, 1.0):
                assert (await put(cam, "/lights", {"gain": gain})).status_code == 200
                await frames_pass(cam)
            assert seen.presence() == [False]


async def test_offline_after_failures_then_back_with_the_state_afresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="drivers.camera")
    options = CameraOptions(port=free_port(), present=True)
    cam = await start_camera(options)
    try:
        path = await save_reference(cam, tmp_path)
        url = f"{cam.url}/snapshot.jpg"
        async with watching(url, fast(reference_path=path, offline_after_failures=3)) as seen:
            await seen.wait_for("the guard", is_presence)
            await cam.stop()
            await seen.wait_count("offline", lambda: len(seen.links()), 2)
            offline = [e for e in seen.events if isinstance(e, CameraLinkChanged)][1]
            assert not offline.online
            assert "3 fetches failed in a row" in offline.detail
            assert url in offline.detail and "ConnectError" in offline.detail
            await asyncio.sleep(1.0)  # ~10 more failed fetches: still one offline event
            assert seen.links() == [True, False]

            cam = await start_camera(options)  # the same port, as after a reboot
            await seen.wait_count("back online", lambda: len(seen.links()), 3)
            # After an outage the state is reported afresh: it may have changed meanwhile.
            await seen.wait_count("the state again", lambda: len(seen.presence()), 2)
            await frames_pass(cam)
            assert seen.links() == [True, False, True]
            assert seen.presence() == [True, True]
    finally:
        await cam.stop()
    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [m for m in messages if "offline" in m[1]] == [
        ("ERROR", f"camera cam-north offline: {offline.detail}")
    ]
    assert [m for m in messages if "back online" in m[1]] == [
        ("WARNING", f"camera cam-north back online ({url})")
    ]


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/", "/ answered text/html, not an image"),
        ("/nope.jpg", "/nope.jpg answered HTTP 404 Not Found"),
    ],
)
async def test_a_url_without_a_picture_fails_readably(path: str, detail: str) -> None:
    async with running_camera() as cam:
        with pytest.raises(DeviceUnavailable, match=detail):
            await fetch_snapshot("cam-north", f"{cam.url}{path}", timeout_s=5)
        settings = fast(offline_after_failures=2)
        async with watching(f"{cam.url}{path}", settings) as seen:
            down = await seen.wait_for("offline", lambda e: isinstance(e, CameraLinkChanged))
            assert isinstance(down, CameraLinkChanged) and not down.online
            assert "2 fetches failed in a row" in down.detail and detail in down.detail
            assert seen.events == [down]  # never online, no presence


async def test_fetch_snapshot_over_http() -> None:
    async with running_camera(present=True) as cam:
        snapshot = await fetch_snapshot("cam-north", f"{cam.url}/snapshot.jpg", timeout_s=5)
    assert (snapshot.camera_id, snapshot.content_type) == ("cam-north", "image/jpeg")
    assert snapshot.taken_at.tzinfo is UTC
    assert decoded_shape(snapshot.data) == (480, 640, 3)
    assert len(snapshot.data) < 150_000  # re-encoded at quality 80


async def test_fetch_snapshot_from_files(tmp_path: Path) -> None:
    image = render(CameraOptions(), present=True)
    photo = tmp_path / "post.jpg"
    ok, encoded = cv2.imencode(".jpg", np.kron(image, np.ones((3, 3, 1), np.uint8)))
    assert ok
    photo.write_bytes(encoded.tobytes())
    snapshot = await fetch_snapshot("cam-north", str(photo), timeout_s=5)
    assert decoded_shape(snapshot.data) == (960, 1280, 3)  # 1920×1440 scaled down

    video = tmp_path / "post.avi"  # any other OpenCV source goes through VideoCapture
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter.fourcc(*"MJPG"), 5, (640, 480))
    for _ in range(3):
        writer.write(image)
    writer.release()
    snapshot = await fetch_snapshot("cam-north", str(video), timeout_s=10)
    assert decoded_shape(snapshot.data) == (480, 640, 3)


async def test_a_camera_that_never_answers_times_out() -> None:
    hold = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hold.wait()  # accepts, reads nothing, answers nothing
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(DeviceUnavailable, match=r"no picture within 0\.5 s"):
            await fetch_snapshot("cam-north", f"http://127.0.0.1:{port}/snap.jpg", timeout_s=0.5)
    finally:
        hold.set()
        server.close()
        await server.wait_closed()


async def test_digest_credentials_in_the_url() -> None:
    async with running_camera(credentials=("admin", "Gate#2024")) as cam:
        host = cam.url.removeprefix("http://")
        good = f"http://admin:Gate%232024@{host}/snapshot.jpg"
        snapshot = await fetch_snapshot("cam-north", good, timeout_s=5)
        assert decoded_shape(snapshot.data) == (480, 640, 3)
        async with watching(good, fast()) as seen:  # one auth reused across frames
            await seen.wait_for("the initial state", is_presence)
            await frames_pass(cam, 3)
        for url in (f"http://admin:wrong@{host}/snapshot.jpg", f"{cam.url}/snapshot.jpg"):
            with pytest.raises(DeviceUnavailable, match="HTTP 401") as caught:
                await fetch_snapshot("cam-north", url, timeout_s=5)
            assert "wrong" not in str(caught.value)  # the password is not in messages


async def test_scripted_presence_follows_the_script() -> None:
    guard_on = False
    times: list[float] = []

    def presence_at(t: float) -> bool:
        times.append(t)
        return guard_on

    async with running_camera(presence_at=presence_at) as cam:
        refused = await put(cam, "/presence", {"present": True})
        assert refused.status_code == 409
        async with watching(f"{cam.url}/snapshot.jpg", fast()) as seen:
            await seen.wait_for("the initial state", is_presence)
            guard_on = True
            await seen.wait_count("the scripted guard", lambda: len(seen.presence()), 2)
            assert seen.presence() == [False, True]
    assert times == sorted(times) and times[0] >= 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/presence", {"present": "yes"}),
        ("/presence", [True]),
        ("/presence", None),
        ("/lights", {"gain": 0}),
        ("/lights", {"gain": "bright"}),
    ],
)
async def test_the_simulator_refuses_bad_requests(path: str, body: object) -> None:
    async with running_camera() as cam:
        response = await put(cam, path, body)
        assert response.status_code == 422
        assert "error" in response.json()
