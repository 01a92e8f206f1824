"""A press at a button with a camera: the police get the camera's picture with the alarm when
it comes quickly, and the alarm without it, at once, when the camera is slow. Against a
private Mosquitto, both databases, the simulated police centre and the simulated camera."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import select

from drivers.camera.snapshots import decode_image
from drivers.mqtt.publisher import MqttPublisher
from gateway.context import GatewayContext
from gateway.settings import Settings, parse_settings
from gateway.storage.models import Alarm, Snapshot
from simulators.button import press_button
from simulators.camera import CameraOptions, SimulatedCamera, serve_camera, write_camera_video
from tests.support.gateway import running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], police: str, camera_url: str
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": police}
    )
    tree["schools"][0]["cameras"][0]["url"] = camera_url  # cam-north, at btn-north
    tree["linkage"] = {"snapshot_wait_s": 0.3, "snapshot_timeout_s": 5}
    return parse_settings(tree)


@asynccontextmanager
async def camera() -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(CameraOptions(port=0, present=True))
    ready = asyncio.Event()
    task = asyncio.create_task(serve_camera(cam.options, camera=cam, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield cam
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@asynccontextmanager
async def silent_camera() -> AsyncIterator[str]:
    """An HTTP camera that accepts the connection and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/snapshot.jpg"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def press(broker: MosquittoBroker) -> None:
    async with MqttPublisher(broker.url, client_id="btn") as publisher:
        await press_button(publisher, prefix="campus", school="fy-dongguan-ms", button="btn-north")


async def test_the_picture_goes_with_the_alarm(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with camera() as cam, police_centre() as centre:
        url = f"http://127.0.0.1:{cam.port}/snapshot.jpg"
        async with running(settings_for(mosquitto, database, centre.url, url)) as app:
            await press(mosquitto)
            await eventually(lambda: len(centre.centre.receipts) == 1, what="the alarm at 110")
            # The centre checked the base64 and kept the picture's size.
            sent = centre.centre.receipts[0].snapshot
            assert sent is not None and sent["content_type"] == "image/jpeg"
            context: GatewayContext = app.state.context
            kept: list[Snapshot] = []

            async def stored() -> bool:
                async with context.sessions() as session:
                    alarm = (await session.scalars(select(Alarm))).one()
                    kept[:] = (
                        await session.scalars(
                            select(Snapshot).where(Snapshot.event_id == alarm.event_id)
                        )
                    ).all()
                return len(kept) == 1

            await eventually(stored, what="the picture kept with the alarm's event")
            assert kept[0].camera_id == "cam-north"
            assert sent["bytes"] == len(kept[0].data)
            assert decode_image(kept[0].data).shape[0] > 0


async def test_a_silent_camera_never_holds_the_alarm_back(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with silent_camera() as url, police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url, url)
        async with running(settings):
            await press(mosquitto)
            # The camera holds the request for 5 s; the alarm goes after the 0.3 s wait.
            await eventually(
                lambda: len(centre.centre.receipts) == 1, timeout_s=3, what="the alarm at 110"
            )
            assert centre.centre.receipts[0].snapshot is None


async def test_a_camera_that_is_a_video_gives_its_picture_too(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], tmp_path: Path
) -> None:
    video = tmp_path / "north-gate.avi"
    options = CameraOptions(present=True)
    assert await asyncio.to_thread(write_camera_video, video, options, seconds=1) == 5
    async with police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url, str(video))
        async with running(settings):
            await press(mosquitto)
            await eventually(lambda: len(centre.centre.receipts) == 1, what="the alarm at 110")
            sent = centre.centre.receipts[0].snapshot
            assert sent is not None and sent["content_type"] == "image/jpeg"
            assert sent["bytes"] > 1000
