"""The live gate watch: when an unstaffed alert is raised and cleared, on an injected clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest

from gateway.alerts import AlertKind, AlertOutbox
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings, parse_settings
from gateway.staffing.watch import GateWatch, duration_zh

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
MAX_S = 600


def site() -> Settings:
    return parse_settings(
        {
            "schools": [
                {"id": "s1", "name": "一中", "gates": [{"id": "g1", "name": "北门"}]},
            ],
            "rules": {"gate_max_unstaffed_s": MAX_S},
        }
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def gate_event(at: datetime, staffed: bool, transport: Transport = Transport.MQTT) -> DeviceEvent:
    return DeviceEvent(
        device=DeviceRef("s1", DeviceKind.GATE, "g1"),
        kind=EventKind.GUARD_ON if staffed else EventKind.GUARD_OFF,
        message_id=f"m-{at.timestamp()}-{transport}",
        occurred_at=at,
        received_at=at,
        transport=transport,
        topic="t",
        raw_payload="{}",
    )


@pytest.fixture
def watch_and_clock() -> tuple[GateWatch, Clock, GatewayMetrics]:
    clock = Clock()
    metrics = GatewayMetrics()
    # check() and view() never touch the outbox: only run() hands it the alerts.
    watch = GateWatch(site(), cast(AlertOutbox, None), metrics, HealthBoard(), clock=clock)
    return watch, clock, metrics


def kinds(watch: GateWatch, at: datetime) -> list[AlertKind]:
    return [alert.kind for alert in watch.check(at)]


def test_unknown_state_alerts_once_after_the_limit_from_start(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, metrics = watch_and_clock
    assert kinds(watch, T0 + timedelta(seconds=MAX_S)) == []
    alerts = watch.check(T0 + timedelta(seconds=MAX_S + 1))
    assert [a.kind for a in alerts] == [AlertKind.GATE_UNSTAFFED]
    assert alerts[0].details["state_known"] is False
    assert kinds(watch, T0 + timedelta(seconds=MAX_S + 60)) == []  # raised once
    assert metrics.gates_unstaffed._value.get() == 1


def test_staffed_again_clears_the_alert(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, metrics = watch_and_clock
    watch.observe([gate_event(T0, False)])
    assert kinds(watch, T0 + timedelta(seconds=MAX_S - 1)) == []
    assert kinds(watch, T0 + timedelta(seconds=MAX_S + 1)) == [AlertKind.GATE_UNSTAFFED]
    watch.observe([gate_event(T0 + timedelta(seconds=700), True, Transport.API)])
    alerts = watch.check(T0 + timedelta(seconds=701))
    assert [a.kind for a in alerts] == [AlertKind.GATE_STAFFED]
    assert alerts[0].details["source"] == "api"
    assert kinds(watch, T0 + timedelta(seconds=800)) == []
    assert metrics.gates_unstaffed._value.get() == 0


def test_a_late_older_report_does_not_override_a_newer_one(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, _ = watch_and_clock
    watch.observe([gate_event(T0 + timedelta(seconds=10), True)])
    watch.observe([gate_event(T0, False)])  # arrives later, happened earlier
    assert kinds(watch, T0 + timedelta(seconds=5000)) == []
    assert watch.view(T0 + timedelta(seconds=5000))[0].state.staffed is True


def test_the_camera_is_shown_but_never_decides(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, _ = watch_and_clock
    watch.observe([gate_event(T0, False, Transport.MODBUS)])
    watch.observe([gate_event(T0 + timedelta(seconds=5), True, Transport.CAMERA)])
    live = watch.view(T0 + timedelta(seconds=30))[0]
    assert live.state.staffed is False
    assert live.disagree is True
    assert {(s.source.value, s.staffed) for s in live.sources} == {
        ("modbus", False),
        ("camera", True),
    }
    assert kinds(watch, T0 + timedelta(seconds=MAX_S + 1)) == [AlertKind.GATE_UNSTAFFED]


def test_events_of_other_devices_are_ignored(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, _ = watch_and_clock
    other = DeviceEvent(
        device=DeviceRef("s1", DeviceKind.GATE, "g1"),
        kind=EventKind.OPEN,
        message_id="door",
        occurred_at=T0,
        received_at=T0,
        transport=Transport.MQTT,
        topic="t",
        raw_payload="{}",
    )
    unknown_gate = replace(gate_event(T0, True), device=DeviceRef("s1", DeviceKind.GATE, "g9"))
    watch.observe([other, unknown_gate])
    assert watch.view(T0)[0].state.staffed is None


def test_a_sensor_repeating_empty_does_not_restart_the_clock(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, _ = watch_and_clock
    watch.observe([gate_event(T0, False)])
    for minute in range(1, 10):
        watch.observe([gate_event(T0 + timedelta(minutes=minute), False)])
    assert kinds(watch, T0 + timedelta(seconds=MAX_S + 1)) == [AlertKind.GATE_UNSTAFFED]
    assert watch.view(T0 + timedelta(seconds=MAX_S + 1))[0].state.since == T0


def test_a_late_report_between_two_can_change_the_state(
    watch_and_clock: tuple[GateWatch, Clock, GatewayMetrics],
) -> None:
    watch, _, _ = watch_and_clock
    watch.observe([gate_event(T0, True)])
    watch.observe([gate_event(T0 + timedelta(minutes=5), True, Transport.MODBUS)])
    watch.observe([gate_event(T0 + timedelta(minutes=3), False, Transport.API)])  # late
    state = watch.view(T0 + timedelta(minutes=6))[0].state
    assert (state.staffed, state.since) == (True, T0 + timedelta(minutes=5))


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(20, "20秒"), (119, "119秒"), (600, "10分钟"), (3600, "1小时"), (7500, "2小时5分钟")],
)
def test_alert_durations_read_naturally(seconds: float, text: str) -> None:
    assert duration_zh(seconds) == text
