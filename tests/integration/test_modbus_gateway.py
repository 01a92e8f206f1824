"""A gate-post panel served by a real Modbus TCP server drives the gateway: staffing records,
an alarm to the police, device offline/online alerts, and no second press after a restart.
Against a private Mosquitto, both databases and the simulated police centre."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from drivers.modbus.server import PanelServer
from drivers.modbus.types import Table
from gateway.context import GatewayContext
from gateway.settings import Settings, parse_settings
from gateway.storage.models import Device, Event
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
DONGGUAN = "fy-dongguan-ms"


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], police: str, panel_port: int
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": police}
    )
    tree["modbus"] = {
        "devices": [
            {
                "id": "panel-1",
                "host": "127.0.0.1",
                "port": panel_port,
                "unit": 1,
                "poll_interval_s": 0.1,
                "timeout_s": 0.3,
                "offline_after_failures": 2,
            }
        ],
        "signals": [
            {"device": "panel-1", "table": "discrete_input", "address": 0, "school": DONGGUAN,
             "target": "gate/gate-north", "on": "guard_on", "off": "guard_off"},
            {"device": "panel-1", "table": "coil", "address": 3, "school": DONGGUAN,
             "target": "alarm/btn-north", "on": "press", "off": "restore"},
            {"device": "panel-1", "table": "holding_register", "address": 10, "bit": 1,
             "school": DONGGUAN, "target": "gate/gate-north", "on": "open", "off": "closed"},
        ],
    }  # fmt: skip
    return parse_settings(tree)


async def modbus_events(app: FastAPI) -> list[tuple[str, str]]:
    context: GatewayContext = app.state.context
    async with context.sessions() as session:
        rows = await session.execute(
            select(Event.device_id, Event.kind)
            .where(Event.transport == "modbus")
            .order_by(Event.id)
        )
    return [(device, kind) for device, kind in rows]


async def online(app: FastAPI) -> dict[str, bool | None]:
    context: GatewayContext = app.state.context
    async with context.sessions() as session:
        rows = await session.execute(select(Device.device_id, Device.online))
    return {device: state for device, state in rows}


async def test_a_panel_drives_staffing_alarms_and_device_alerts(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with (
        PanelServer(port=0) as panel,
        police_centre() as centre,
        alert_listener(mosquitto, f"campus/{DONGGUAN}/gateway/alert") as seen,
    ):
        settings = settings_for(mosquitto, database, centre.url, panel.port)
        async with running(settings) as app:
            # The first reading settles the post's state: empty.
            await eventually(
                lambda: _has(app, ("gate-north", "guard_off")), what="the first reading"
            )
            await panel.set_bit(Table.DISCRETE_INPUT, 0, True)
            await eventually(lambda: _has(app, ("gate-north", "guard_on")), what="guard_on")
            live = {g.gate_id: g for g in app.state.runtime.gate_watch.view(datetime.now(UTC))}
            assert live["gate-north"].state.staffed is True
            assert live["gate-north"].state.source.value == "modbus"

            await panel.set_bit(Table.COIL, 3, True)
            await eventually(lambda: len(centre.centre.receipts) == 1, what="the press at 110")
            receipt = centre.centre.receipts[0]
            assert (receipt.device_id, receipt.kind) == ("btn-north", "emergency")
            await panel.set_bit(Table.COIL, 3, False)
            await eventually(lambda: _has(app, ("btn-north", "restore")), what="restore")
            await panel.set_register_bit(Table.HOLDING_REGISTER, 10, 1, True)
            await eventually(lambda: _has(app, ("gate-north", "open")), what="the gate opening")

            # The panel goes silent: offline after 2 failed polls, with an alert.
            await panel.stop()
            await eventually(
                lambda: any(a["kind"] == "device_offline" for a in seen), what="offline alert"
            )
            offline = next(a for a in seen if a["kind"] == "device_offline")
            assert offline["subject"] == {"kind": "modbus", "id": "panel-1"}
            assert set(offline["devices"]) == {"gate/gate-north", "alarm/btn-north"}
            states = await online(app)
            assert states["gate-north"] is False and states["btn-north"] is False
            metrics = app.state.context.metrics.render().decode()
            assert 'campus_modbus_device_online{device="panel-1"} 0.0' in metrics
            assert 'campus_modbus_poll_failures_total{device="panel-1"}' in metrics

            # The guard leaves while the panel is away; it is reported once it answers again.
            await panel.set_bit(Table.DISCRETE_INPUT, 0, False)
            await panel.start()
            await eventually(
                lambda: any(a["kind"] == "device_online" for a in seen), what="online alert"
            )

            async def reported_once() -> bool:
                return await _count(app, ("gate-north", "guard_off")) == 2

            await eventually(reported_once, what="the change made while it was away")
            assert (await online(app))["btn-north"] is True

            # A button latched down when the gateway stops is not a new press at its start.
            await panel.set_bit(Table.COIL, 3, True)
            await eventually(lambda: len(centre.centre.receipts) == 2, what="the second press")
        async with running(settings) as app:
            await asyncio.sleep(1.0)  # ten polls
            assert await _count(app, ("btn-north", "press")) == 2
            assert len(centre.centre.receipts) == 2
            assert await _count(app, ("gate-north", "guard_off")) == 2


async def _has(app: FastAPI, item: tuple[str, str]) -> bool:
    return item in await modbus_events(app)


async def _count(app: FastAPI, item: tuple[str, str]) -> int:
    return (await modbus_events(app)).count(item)
