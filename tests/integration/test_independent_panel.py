"""The gateway against peers it did not write: a gate-post panel served by pyModbusTCP (an
independent Modbus TCP implementation, not pymodbus), and the simulated post camera over
HTTP. The panel's occupancy input and the guard's check-in decide; the camera's view is
stored with its snapshot and shown beside them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from pyModbusTCP.server import ModbusServer
from sqlalchemy import select

from drivers.camera.snapshots import decode_image
from gateway.context import GatewayContext
from gateway.settings import Settings, parse_settings
from gateway.storage.models import Event, Snapshot
from simulators.camera import CameraOptions, SimulatedCamera, serve_camera
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker, free_port
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
DONGGUAN = "fy-dongguan-ms"


@contextmanager
def independent_panel() -> Iterator[ModbusServer]:
    server = ModbusServer("127.0.0.1", free_port(), no_block=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(
    broker: MosquittoBroker,
    database: tuple[str, str | None],
    police: str,
    panel_port: int,
    camera_port: int,
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": police}
    )
    school = tree["schools"][0]
    school["cameras"].append(
        {"id": "cam-gate", "url": f"http://127.0.0.1:{camera_port}/snapshot.jpg"}
    )
    school["gates"] = [
        {
            "id": "gate-north",
            "name": "北门",
            "camera": "cam-gate",
            "presence": {"interval_s": 0.2, "timeout_s": 2, "confirm_frames": 2},
        }
    ]
    tree["modbus"] = {
        "devices": [{"id": "panel-1", "host": "127.0.0.1", "port": panel_port,
                     "poll_interval_s": 0.1, "timeout_s": 0.5, "offline_after_failures": 3}],
        "signals": [
            {"device": "panel-1", "table": "discrete_input", "address": 0, "school": DONGGUAN,
             "target": "gate/gate-north", "on": "guard_on", "off": "guard_off"},
            {"device": "panel-1", "table": "holding_register", "address": 10, "bit": 2,
             "school": DONGGUAN, "target": "alarm/btn-office", "on": "press", "off": "restore"},
        ],
    }  # fmt: skip
    tree["rules"] = {"gate_max_unstaffed_s": 600}
    return parse_settings(tree)


async def stored(context: GatewayContext, transport: str) -> list[tuple[str, int]]:
    async with context.sessions() as session:
        rows = await session.execute(
            select(Event.kind, Event.id).where(Event.transport == transport).order_by(Event.id)
        )
    return [(kind, event_id) for kind, event_id in rows]


async def test_an_independent_panel_and_a_camera_drive_the_post(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    camera = SimulatedCamera(CameraOptions(port=0))
    ready = asyncio.Event()
    camera_task = asyncio.create_task(serve_camera(camera.options, camera=camera, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        with independent_panel() as panel:
            async with police_centre() as centre, alert_listener(mosquitto) as alerts:
                settings = settings_for(mosquitto, database, centre.url, panel.port, camera.port)
                async with running(settings) as app:
                    context: GatewayContext = app.state.context

                    async def has(transport: str, kind: str) -> bool:
                        return kind in [k for k, _ in await stored(context, transport)]

                    # First readings: the post is empty, and the camera sees it empty.
                    await eventually(lambda: has("modbus", "guard_off"), what="first reading")
                    await eventually(lambda: has("camera", "guard_off"), what="camera's view")

                    # The guard sits down: the panel's input and the camera both say so.
                    panel.data_bank.set_discrete_inputs(0, [True])
                    camera.present = True
                    await eventually(lambda: has("modbus", "guard_on"), what="occupancy")
                    await eventually(lambda: has("camera", "guard_on"), what="camera presence")

                    # Each camera event keeps the snapshot that shows it, a JPEG.
                    async with context.sessions() as session:
                        pictures = (await session.execute(select(Snapshot))).scalars().all()
                    assert len(pictures) == len(await stored(context, "camera"))
                    image = decode_image(pictures[-1].data)  # raises if it is not an image
                    assert image.shape[0] > 0
                    assert pictures[-1].camera_id == "cam-gate"

                    # The panel says the guard left but the camera still sees someone: the
                    # judged state follows the panel, the disagreement is shown.
                    panel.data_bank.set_discrete_inputs(0, [False])
                    await eventually(lambda: _count(context, "modbus", "guard_off", 2), what="left")
                    live = app.state.runtime.gate_watch.view(datetime.now(UTC))[0]
                    assert live.state.staffed is False
                    assert live.disagree is True

                    # A register bit mapped to a button: a press reaches the police.
                    panel.data_bank.set_holding_registers(10, [0b100])
                    await eventually(lambda: len(centre.centre.receipts) == 1, what="110")
                    assert centre.centre.receipts[0].device_id == "btn-office"

                    # The camera goes away: offline alert, the gateway goes on.
                    camera_task.cancel()
                    await asyncio.gather(camera_task, return_exceptions=True)
                    await eventually(
                        lambda: any(a["subject"]["kind"] == "camera" for a in alerts),
                        what="camera offline alert",
                    )
                    panel.data_bank.set_holding_registers(10, [0])
                    await eventually(lambda: has("modbus", "restore"), what="restore")
    finally:
        camera_task.cancel()
        await asyncio.gather(camera_task, return_exceptions=True)


async def _count(context: GatewayContext, transport: str, kind: str, n: int) -> bool:
    return [k for k, _ in await stored(context, transport)].count(kind) == n
