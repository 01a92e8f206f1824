"""A peer that misbehaves: the poller reports it readably, marks it offline, keeps running,
and keeps polling a healthy device on another link on time meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from drivers.modbus import DeviceSpec, Point, PollFailed, Table
from drivers.modbus.server import PanelServer
from tests.support.modbus_peer import ModbusPeer, PeerMode, recording

INTERVAL_S = 0.05
WINDOW_S = 1.0
FAST: dict[str, Any] = {
    "poll_interval_s": INTERVAL_S,
    "timeout_s": 0.15,
    "offline_after_failures": 3,
    "reconnect_initial_s": 0.05,
    "reconnect_max_s": 0.2,
}
POINTS = (Point(Table.COIL, 0), Point(Table.HOLDING_REGISTER, 3, 1))

EXPECTED_DETAIL = {
    PeerMode.EXCEPTION: "exception response 2 (illegal data address) reading coil 0",
    PeerMode.GARBAGE: "malformed answer reading coil 0: transaction id 18516, expected 1",
    PeerMode.WRONG_LENGTH: "malformed answer reading coil 0: MBAP length 9, expected 4",
    PeerMode.WRONG_TRANSACTION: "malformed answer reading coil 0: transaction id 1001",
    PeerMode.WRONG_UNIT: "answer from unit 2 to a request for unit 1",
    PeerMode.WRONG_FUNCTION: "function code 2 in the answer to function code 1",
    PeerMode.SHORT: "malformed answer reading coil 0: MBAP length 3, expected 4",
    PeerMode.TRUNCATED: "timeout after 0.15 s reading coil 0 (incomplete answer: 9 bytes)",
    PeerMode.SILENT: "timeout after 0.15 s reading coil 0",
    PeerMode.SLOW: "timeout after 0.15 s reading coil 0",
    PeerMode.CLOSE: "connection closed by the device",
}


@pytest.mark.parametrize("mode", list(EXPECTED_DETAIL))
async def test_a_hostile_peer_goes_offline_and_does_not_hold_up_the_others(
    mode: PeerMode,
) -> None:
    healthy_polls = 0

    def count(_request: object) -> None:
        nonlocal healthy_polls
        healthy_polls += 1

    async with (
        ModbusPeer(mode, slow_s=0.4) as peer,
        PanelServer(on_request=count) as server,
    ):
        specs = [
            DeviceSpec("hostile", 1, POINTS, host="127.0.0.1", port=peer.port, **FAST),
            DeviceSpec(
                "healthy",
                1,
                (Point(Table.DISCRETE_INPUT, 0),),
                host="127.0.0.1",
                port=server.port,
                **FAST,
            ),
        ]
        async with recording(specs) as rec:
            await rec.wait(lambda: bool(rec.links("hostile")), "the hostile device offline")
            (offline,) = rec.links("hostile")
            assert offline.online is False
            events = rec.of("hostile")
            failures = [e for e in events[: events.index(offline)] if isinstance(e, PollFailed)]
            assert [f.consecutive for f in failures] == [1, 2, 3]
            assert EXPECTED_DETAIL[mode] in failures[0].detail
            assert not rec.changes("hostile")

            # While it keeps misbehaving, the healthy device is polled at its own pace.
            start = healthy_polls
            await asyncio.sleep(WINDOW_S)
            expected = WINDOW_S / INTERVAL_S
            assert healthy_polls - start >= expected / 2, (healthy_polls - start, expected)
            assert len(rec.failures("hostile")) > 3  # still polled, still failing
            assert len(rec.links("hostile")) == 1  # offline said once
            assert not rec.failures("healthy")
            states = {s.device_id: s for s in rec.poller.states()}
            assert states["hostile"].online is False
            assert states["healthy"].online is True

            # It mends its ways: back online, first values reported.
            peer.mode = PeerMode.HEALTHY
            await rec.wait(lambda: len(rec.changes("hostile")) == 2, "the hostile device back")
            assert rec.links("hostile")[-1].online is True
            assert all(c.previous is None for c in rec.changes("hostile"))


async def test_a_dead_peer_does_not_flood_the_log(caplog: pytest.LogCaptureFixture) -> None:
    async with ModbusPeer(PeerMode.GARBAGE) as peer:
        spec = DeviceSpec("hostile", 1, POINTS, host="127.0.0.1", port=peer.port, **FAST)
        with caplog.at_level("DEBUG"):
            async with recording([spec]) as rec:
                await rec.wait(lambda: len(rec.failures("hostile")) >= 15, "many failed polls")
    lines = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR", "CRITICAL")]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "hostile" in lines[0].getMessage()
