"""ModbusPoller against real Modbus TCP servers (pymodbus SimDevice servers on free ports)."""

from __future__ import annotations

import asyncio
import importlib.util
from typing import Any

import pytest

from drivers.modbus import (
    DeviceSpec,
    LinkChanged,
    ModbusPoller,
    Point,
    PointChanged,
    PollFailed,
    SerialSpec,
    Table,
    plan_reads,
)
from drivers.modbus.server import PanelServer, ServedRequest
from tests.support.modbus_peer import Recorder, recording

C, DI, HR, IR = (
    Table.COIL,
    Table.DISCRETE_INPUT,
    Table.HOLDING_REGISTER,
    Table.INPUT_REGISTER,
)
FAST: dict[str, Any] = {
    "poll_interval_s": 0.05,
    "timeout_s": 0.5,
    "offline_after_failures": 3,
    "reconnect_initial_s": 0.05,
    "reconnect_max_s": 0.2,
}
PANEL_POINTS = (Point(DI, 0), Point(DI, 1), Point(C, 3), Point(HR, 10, 0), Point(HR, 10, 1))


def panel(port: int, unit: int = 1, device_id: str = "panel-1", **changes: Any) -> DeviceSpec:
    options = FAST | {"points": PANEL_POINTS} | changes
    return DeviceSpec(device_id, unit, host="127.0.0.1", port=port, **options)


def values(recorder: Recorder, device_id: str) -> dict[Point, bool]:
    return {e.point: e.value for e in recorder.changes(device_id)}


async def more_polls(recorder: Recorder, server: PanelServer, requests: int = 6) -> None:
    """Wait until the server has answered `requests` more requests (of unit 1)."""
    target = server.requests[1] + requests
    await recorder.wait(lambda: server.requests[1] >= target, f"{requests} more requests")


async def test_first_poll_reports_every_point_with_previous_none() -> None:
    async with PanelServer() as server:
        await server.set_bit(DI, 1, True)
        await server.set_register_bit(HR, 10, 0, True)
        async with recording([panel(server.port)]) as rec:
            await rec.wait(lambda: len(rec.changes("panel-1")) == 5, "the first values")
            events = rec.of("panel-1")
            assert isinstance(events[0], LinkChanged) and events[0].online
            first = rec.changes("panel-1")
            assert [e.point for e in first] == list(PANEL_POINTS)
            assert all(e.previous is None for e in first)
            assert [e.value for e in first] == [False, True, False, True, False]
            assert all(e.observed_at.tzinfo is not None for e in first)
            (state,) = rec.poller.states()
            assert state.online is True and state.consecutive_failures == 0
            assert state.last_ok_at is not None and state.last_error is None


@pytest.mark.parametrize(
    "point",
    [Point(DI, 1), Point(C, 3), Point(HR, 10, 1)],
    ids=["discrete input", "coil", "register bit"],
)
async def test_a_flip_is_one_change_and_nothing_else(point: Point) -> None:
    async with PanelServer() as server, recording([panel(server.port)]) as rec:
        await rec.wait(lambda: len(rec.changes("panel-1")) == 5, "the first values")
        await more_polls(rec, server)
        assert len(rec.changes("panel-1")) == 5  # unchanged values are not reported
        if point.bit is None:
            await server.set_bit(point.table, point.address, True)
        else:
            await server.set_register_bit(point.table, point.address, point.bit, True)
        await rec.wait(lambda: len(rec.changes("panel-1")) == 6, "the change")
        change = rec.changes("panel-1")[-1]
        assert (change.point, change.value, change.previous) == (point, True, False)
        await more_polls(rec, server)
        assert len(rec.changes("panel-1")) == 6
        assert not rec.failures("panel-1")


async def test_register_without_bit_is_on_when_not_zero() -> None:
    async with PanelServer() as server:
        spec = panel(server.port, points=(Point(IR, 7),))
        async with recording([spec]) as rec:
            await rec.wait(lambda: len(rec.changes("panel-1")) == 1, "the first value")
            await server.set_register(IR, 7, 0x0100)
            await rec.wait(lambda: len(rec.changes("panel-1")) == 2, "the change")
            await server.set_register(IR, 7, 0x0400)  # still not zero: no event
            await more_polls(rec, server)
            assert [e.value for e in rec.changes("panel-1")] == [False, True]


async def test_offline_after_failures_then_back_with_what_changed() -> None:
    async with PanelServer() as server, recording([panel(server.port)]) as rec:
        await rec.wait(lambda: len(rec.changes("panel-1")) == 5, "the first values")
        await server.stop()
        await server.set_bit(C, 3, True)  # pressed while the panel was unreachable
        await rec.wait(lambda: len(rec.links("panel-1")) == 2, "the device going offline")
        offline = rec.links("panel-1")[-1]
        assert offline.online is False and "3 failed polls in a row" in offline.detail
        events = rec.of("panel-1")
        before = events[events.index(rec.links("panel-1")[0]) + 1 : events.index(offline)]
        failures = [e for e in before if isinstance(e, PollFailed)]
        assert [f.consecutive for f in failures] == [1, 2, 3]
        assert failures[-1] is before[-1]  # offline right after the third failure
        assert "refused" in failures[0].detail or "closed" in failures[0].detail
        (state,) = rec.poller.states()
        assert state.online is False and state.consecutive_failures >= 3
        assert state.last_error is not None
        await rec.wait(lambda: len(rec.failures("panel-1")) >= 6, "more failed polls")
        assert len(rec.links("panel-1")) == 2  # offline is said once

        await server.start()
        await rec.wait(lambda: len(rec.links("panel-1")) == 3, "the device coming back")
        assert rec.links("panel-1")[-1].online is True
        await rec.wait(lambda: len(rec.changes("panel-1")) == 6, "the change made meanwhile")
        change = rec.changes("panel-1")[-1]
        assert (change.point, change.value, change.previous) == (Point(C, 3), True, False)
        await more_polls(rec, server)
        assert len(rec.changes("panel-1")) == 6  # unchanged values are not reported again
        (state,) = rec.poller.states()
        assert state.online is True and state.consecutive_failures == 0


async def test_a_device_that_never_answered_goes_offline() -> None:
    async with PanelServer() as server:
        port = server.port
    async with recording([panel(port)]) as rec:
        await rec.wait(lambda: len(rec.links("panel-1")) == 1, "the device going offline")
        (offline,) = rec.links("panel-1")
        assert offline.online is False
        assert f"connection refused by 127.0.0.1:{port}" in offline.detail
        assert not rec.changes("panel-1")
        (state,) = rec.poller.states()
        assert state.online is False and state.last_ok_at is None


async def test_units_behind_one_address_share_one_connection() -> None:
    async with PanelServer(units=(1, 2)) as server:
        await server.set_bit(DI, 0, True, unit=1)
        await server.set_bit(DI, 1, True, unit=2)
        specs = [
            panel(server.port, unit=1, device_id="panel-1"),
            panel(server.port, unit=2, device_id="panel-2", poll_interval_s=0.08),
        ]
        async with recording(specs) as rec:
            await rec.wait(
                lambda: len(rec.changes("panel-1")) == len(rec.changes("panel-2")) == 5,
                "the first values of both units",
            )
            assert values(rec, "panel-1")[Point(DI, 0)] is True
            assert values(rec, "panel-1")[Point(DI, 1)] is False
            assert values(rec, "panel-2")[Point(DI, 0)] is False
            assert values(rec, "panel-2")[Point(DI, 1)] is True
            await server.set_bit(C, 3, True, unit=2)
            await rec.wait(lambda: len(rec.changes("panel-2")) == 6, "the change on unit 2")
            assert len(rec.changes("panel-1")) == 5
            assert server.connections == 1
            assert server.requests[1] > 0 and server.requests[2] > 0


async def test_a_grouped_read_sends_fewer_requests_than_points() -> None:
    points = (
        Point(DI, 0),
        Point(DI, 1),
        Point(DI, 2),
        Point(DI, 5),
        Point(C, 3),
        Point(HR, 10, 0),
        Point(HR, 10, 1),
        Point(HR, 12),
    )
    seen: list[ServedRequest] = []
    async with PanelServer(on_request=seen.append) as server:
        spec = panel(server.port, points=points, poll_interval_s=30.0)
        async with recording([spec]) as rec:
            await rec.wait(lambda: len(rec.changes("panel-1")) == len(points), "one poll")
            await asyncio.sleep(0.2)  # nothing else is due for 30 s
            blocks = plan_reads(points)
            assert len(seen) == len(blocks) == 3 < len(points)
            assert [(r.table, r.address, r.write) for r in seen] == [
                (b.table, b.start, False) for b in blocks
            ]


async def test_device_tasks_are_named_and_stop_with_the_poller() -> None:
    async with PanelServer() as server:
        with pytest.raises(KeyError, match="the body's own error"):
            async with ModbusPoller([panel(server.port), panel(server.port, 2, "panel-2")]):
                names = {t.get_name() for t in asyncio.all_tasks()}
                assert {"modbus:panel-1", "modbus:panel-2"} <= names
                raise KeyError("the body's own error")  # not wrapped in an ExceptionGroup
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("modbus:")]


async def test_events_end_when_the_poller_closes() -> None:
    async with PanelServer() as server:
        async with recording([panel(server.port)]) as rec:
            await rec.wait(lambda: len(rec.changes("panel-1")) == 5, "the first values")
            poller = rec.poller
        # Closed: whatever was queued is delivered, then the iteration ends.
        seen = [event async for event in poller.events()]
        assert all(isinstance(e, PointChanged | PollFailed | LinkChanged) for e in seen)


@pytest.mark.skipif(
    importlib.util.find_spec("serial") is None,
    reason="Modbus RTU needs pyserial (pip install pyserial, or pymodbus[serial])",
)
async def test_rtu_over_a_serial_url() -> None:
    # pyserial's socket:// URL is a serial port whose far end is a TCP socket: RTU frames,
    # CRCs and the serial transport, served by a real pymodbus server speaking RTU.
    async with PanelServer(rtu=True, units=(3,)) as server:
        await server.set_bit(DI, 1, True, unit=3)
        line = SerialSpec(f"socket://127.0.0.1:{server.port}", baudrate=19200)
        spec = DeviceSpec("rtu-io", 3, PANEL_POINTS, serial=line, **FAST)
        async with recording([spec]) as rec:
            await rec.wait(lambda: len(rec.changes("rtu-io")) == 5, "the first values")
            assert values(rec, "rtu-io")[Point(DI, 1)] is True
            await server.set_bit(C, 3, True, unit=3)
            await rec.wait(lambda: len(rec.changes("rtu-io")) == 6, "the change")


async def test_a_missing_serial_port_is_a_readable_failure() -> None:
    spec = DeviceSpec("rtu-io", 3, PANEL_POINTS, serial=SerialSpec("/dev/ttyUSB9"), **FAST)
    async with recording([spec]) as rec:
        await rec.wait(lambda: len(rec.links("rtu-io")) == 1, "the device going offline")
        assert rec.links("rtu-io")[0].online is False
        assert "/dev/ttyUSB9" in rec.failures("rtu-io")[0].detail
