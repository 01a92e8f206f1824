"""The gate-post panel's script (a pure function of seed and simulated time), and the panel
served over Modbus TCP read by the real poller."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, datetime, time, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.modbus import DeviceSpec, Point, Table
from drivers.modbus.server import free_tcp_port
from simulators.gate_panel import (
    GatePanelOptions,
    PanelState,
    Script,
    day_plan,
    describe,
    panel_state,
    parse_clock,
    serve_gate_panel,
)
from tests.support.modbus_peer import recording

DAY = date(2025, 3, 3)
SEEDS = range(25)


def at(hhmmss: str, day: date = DAY) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmmss))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shift", ["08:00", "20:00"])
def test_post_is_empty_during_each_shift_handover(seed: int, shift: str) -> None:
    change = at(shift)
    assert panel_state(change, seed=seed).guard_away == "shift handover"
    assert panel_state(change + timedelta(seconds=55), seed=seed).guard_away == "shift handover"
    # About two minutes in all, guarded again a few minutes either side.
    assert panel_state(change - timedelta(minutes=3), seed=seed).guard_present
    assert panel_state(change + timedelta(minutes=3), seed=seed).guard_present
    (handover,) = [s for s in day_plan(seed, DAY).absences if s.start <= change < s.end]
    assert timedelta(seconds=90) <= handover.end - handover.start <= timedelta(seconds=150)


@given(seed=st.integers(0, 10**9), days=st.integers(0, 3000))
def test_a_day_has_one_long_absence_a_few_short_breaks_and_no_overlaps(
    seed: int, days: int
) -> None:
    day = date(2024, 1, 1) + timedelta(days=days)
    plan = day_plan(seed, day)
    kinds = [s.what for s in plan.absences]
    assert kinds.count("shift handover") == 2
    assert kinds.count("long absence") == 1
    assert 2 <= kinds.count("short break") <= 4
    for span in plan.absences:
        assert span.start.date() == day and span.end.date() == day  # within the day
        minutes = (span.end - span.start).total_seconds() / 60
        if span.what == "long absence":
            assert 22 <= minutes <= 28
        elif span.what == "short break":
            assert 3 <= minutes <= 5
    for before, after in pairwise(plan.absences):
        assert before.end < after.start
    for absence in plan.absences:  # breaks are not taken while the gate is open
        if absence.what != "shift handover":
            assert all(absence.end <= g.start or g.end <= absence.start for g in plan.gate_open)


@pytest.mark.parametrize("seed", SEEDS)
def test_gate_opens_for_arrival_and_dismissal(seed: int) -> None:
    assert panel_state(at("07:40"), seed=seed).gate_open == "school arrival"
    assert panel_state(at("16:45"), seed=seed).gate_open == "dismissal"
    for closed in ("03:00", "10:00", "12:30", "22:00"):
        assert panel_state(at(closed), seed=seed).gate_open is None


def test_the_script_is_a_function_of_seed_and_time() -> None:
    assert day_plan(7, DAY) == day_plan(7, DAY)
    assert len({day_plan(seed, DAY) for seed in SEEDS}) == len(SEEDS)
    assert day_plan(7, DAY) != day_plan(7, DAY + timedelta(days=1))


@pytest.mark.parametrize(
    "moment, pressed",
    [
        ("08:00:00", True),
        ("08:00:04", True),
        ("08:00:05", False),
        ("08:29:59", False),
        ("08:30:00", True),
        ("13:30:02", True),
    ],
)
def test_alarm_button_every_press_interval(moment: str, pressed: bool) -> None:
    state = panel_state(at(moment), seed=1, press_every_min=30, press_hold_s=5)
    assert state.alarm_pressed is pressed


def test_idle_guard_never_leaves_and_only_presses_when_asked() -> None:
    for minute in range(0, 24 * 60, 7):
        moment = at("00:00") + timedelta(minutes=minute)
        state = panel_state(moment, seed=3, script=Script.IDLE)
        assert state == PanelState(None, None, False)
    assert panel_state(at("09:00"), seed=3, script=Script.IDLE, press_every_min=60).alarm_pressed


def test_what_the_guard_does_reads_as_log_lines() -> None:
    staffed = PanelState(None, None, False)
    assert describe(None, staffed) == ["guard at the post", "gate closed"]
    away = PanelState("short break", "dismissal", True)
    assert describe(staffed, away) == [
        "guard leaves the post (short break)",
        "gate opens (dismissal)",
        "alarm button pressed",
    ]
    assert describe(away, staffed) == ["guard at the post", "gate closed", "alarm button released"]


def test_options_refuse_nonsense() -> None:
    assert parse_clock("07:50") == time(7, 50)
    with pytest.raises(ValueError, match="not a time of day"):
        parse_clock("7.50")
    with pytest.raises(ValueError, match="speed"):
        GatePanelOptions(speed=0)
    with pytest.raises(ValueError, match="press_every_min"):
        GatePanelOptions(press_every_min=0)
    with pytest.raises(ValueError):
        GatePanelOptions(script="night")  # type: ignore[arg-type]


async def test_the_served_panel_shows_the_handover_to_a_poller() -> None:
    # 120x from 07:57:30: the guard leaves for the 08:00 handover about a real second in and
    # is back about a real second later; the gate is open for arrival meanwhile.
    port = free_tcp_port()
    options = GatePanelOptions(port=port, speed=120, seed=5, start_at=time(7, 57, 30))
    guard, gate = Point(Table.DISCRETE_INPUT, 0), Point(Table.DISCRETE_INPUT, 1)
    spec = DeviceSpec(
        "gate-post",
        1,
        (guard, gate, Point(Table.COIL, 3)),
        host="127.0.0.1",
        port=port,
        poll_interval_s=0.05,
        timeout_s=0.5,
        reconnect_initial_s=0.05,
        reconnect_max_s=0.1,
    )
    task = asyncio.create_task(serve_gate_panel(options), name="test:gate-panel")
    try:
        async with recording([spec]) as rec:

            def guard_values() -> list[bool]:
                return [c.value for c in rec.changes("gate-post") if c.point == guard]

            await rec.wait(lambda: guard_values() == [True, False, True], "the handover", 15)
            gate_values = [c.value for c in rec.changes("gate-post") if c.point == gate]
            assert gate_values[0] is True
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
