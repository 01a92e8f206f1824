"""A simulated gate-post panel (门岗面板) on Modbus TCP, for the demo and the tests.

Register map, on unit `unit` (default 1); the demo configuration maps exactly these:

| table          | address | signal                                                      |
| -------------- | ------- | ----------------------------------------------------------- |
| discrete input | 0       | guard post occupancy: 1 = a guard is at the post            |
| discrete input | 1       | gate door contact: 1 = the gate is open                     |
| coil           | 3       | one-touch alarm button: 1 = pressed, released seconds later |

A scripted guard lives on an accelerated clock (`speed` simulated seconds per real second,
starting at `start_at` simulated local time today). Script "day": the post is empty for about
two minutes at each shift handover (08:00 and 20:00), for a few short breaks (3-5 min) and
once a day for a long absence (~25 min, long enough to break 24-hour staffing); the gate is
open at school arrival and dismissal. Script "idle": the guard never leaves, the gate stays
shut. Both press the alarm button every `press_every_min` simulated minutes (on the clock:
at :00 and :30 for 30). What the panel shows is a pure function of (seed, simulated time),
`panel_state`; `serve_gate_panel` only applies it to a real Modbus server and logs it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from drivers.modbus.server import PanelServer
from drivers.modbus.types import Table

log = logging.getLogger("simulators.gate_panel")

GUARD_PRESENT = (Table.DISCRETE_INPUT, 0)
GATE_OPEN = (Table.DISCRETE_INPUT, 1)
ALARM_BUTTON = (Table.COIL, 3)

SHIFT_CHANGES = (time(8, 0), time(20, 0))
GATE_TIMES = ((time(7, 25), time(8, 5), "school arrival"), (time(16, 30), time(17, 5), "dismissal"))
PRESS_HOLD_S = 5.0  # simulated seconds the button stays pressed ...
MIN_PRESS_REAL_S = 2.0  # ... but at least this long in real time, so a 0.5 s poll sees it
TICK_S = 0.1  # real seconds between applying the script
MARGIN = timedelta(minutes=5)  # breaks keep this far from handovers and gate times


class Script(StrEnum):
    DAY = "day"
    IDLE = "idle"


def parse_clock(text: str) -> time:
    """'07:50' or '07:50:30' as a time of day (for the command line)."""
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a time of day such as 07:50") from None


@dataclass(frozen=True, slots=True)
class GatePanelOptions:
    host: str = "127.0.0.1"
    port: int = 5020
    unit: int = 1
    speed: float = 60.0  # simulated seconds per real second
    seed: int | None = None  # None: a random one, logged so a run can be repeated
    script: Script = Script.DAY
    press_every_min: float | None = None  # simulated minutes between presses; None = never
    start_at: time = time(7, 50)  # simulated local time at start (today)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is outside 0..65535")
        if not 0 <= self.unit <= 247:
            raise ValueError(f"unit {self.unit} is outside 0..247")
        if not self.speed > 0:
            raise ValueError(f"speed {self.speed} must be positive")
        if self.press_every_min is not None and not self.press_every_min > 0:
            raise ValueError(f"press_every_min {self.press_every_min} must be positive")
        Script(self.script)  # "day"/"idle" as plain strings are fine, anything else is not


@dataclass(frozen=True, slots=True)
class Span:
    """[start, end) of simulated local time, and why."""

    start: datetime
    end: datetime
    what: str

    def holds(self, at: datetime) -> bool:
        return self.start <= at < self.end


@dataclass(frozen=True, slots=True)
class DayPlan:
    absences: tuple[Span, ...]  # the post is empty
    gate_open: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class PanelState:
    guard_away: str | None  # why the post is empty; None while a guard is there
    gate_open: str | None  # why the gate is open; None while it is shut
    alarm_pressed: bool

    @property
    def guard_present(self) -> bool:
        return self.guard_away is None


@functools.lru_cache(maxsize=16)  # asked every tick; a plan is immutable
def day_plan(seed: int, day: date) -> DayPlan:
    """The guard's and the gate's day under script "day": the same for the same seed and day."""
    rng = random.Random(f"gate-panel:{seed}:{day.isoformat()}")
    midnight = datetime.combine(day, time())

    def at(t: time) -> datetime:
        return datetime.combine(day, t)

    def jitter(minutes: int) -> timedelta:
        return timedelta(seconds=rng.randint(-60 * minutes, 60 * minutes))

    gates = tuple(Span(at(a) + jitter(3), at(b) + jitter(3), what) for a, b, what in GATE_TIMES)
    absences = [
        Span(
            at(t) - timedelta(seconds=rng.randint(30, 60)),
            at(t) + timedelta(seconds=rng.randint(60, 90)),
            "shift handover",
        )
        for t in SHIFT_CHANGES
    ]
    busy = [*gates, *absences]
    wanted = [(rng.randint(22 * 60, 28 * 60), "long absence")]
    wanted += [(rng.randint(180, 300), "short break") for _ in range(rng.randint(2, 4))]
    for seconds, what in wanted:
        length = timedelta(seconds=seconds)
        for _ in range(200):  # rejection sampling; a day has room to spare
            start = midnight + timedelta(seconds=rng.randint(1800, 86400 - 1800 - seconds))
            span = Span(start, start + length, what)
            if all(span.end + MARGIN <= b.start or b.end + MARGIN <= span.start for b in busy):
                absences.append(span)
                busy.append(span)
                break
    return DayPlan(tuple(sorted(absences, key=lambda s: s.start)), gates)


def panel_state(
    at: datetime,
    *,
    seed: int,
    script: Script = Script.DAY,
    press_every_min: float | None = None,
    press_hold_s: float = PRESS_HOLD_S,
) -> PanelState:
    """What the panel shows at simulated local time `at`."""
    guard_away = gate_open = None
    if script == Script.DAY:
        plan = day_plan(seed, at.date())
        guard_away = next((s.what for s in plan.absences if s.holds(at)), None)
        gate_open = next((s.what for s in plan.gate_open if s.holds(at)), None)
    pressed = False
    if press_every_min is not None:
        since_midnight = (at - datetime.combine(at.date(), time())).total_seconds()
        pressed = since_midnight % (press_every_min * 60) < press_hold_s
    return PanelState(guard_away, gate_open, pressed)


def describe(before: PanelState | None, after: PanelState) -> list[str]:
    """What happened between two states, as log lines."""
    lines: list[str] = []
    if before is None or before.guard_away != after.guard_away:
        if after.guard_away is None:
            lines.append("guard at the post")
        else:
            lines.append(f"guard leaves the post ({after.guard_away})")
    if before is None or before.gate_open != after.gate_open:
        gate = after.gate_open
        lines.append("gate closed" if gate is None else f"gate opens ({gate})")
    if before is not None and before.alarm_pressed != after.alarm_pressed:
        lines.append("alarm button pressed" if after.alarm_pressed else "alarm button released")
    return lines


async def serve_gate_panel(options: GatePanelOptions) -> None:
    """Serve the panel on host:port until cancelled."""
    seed = options.seed if options.seed is not None else random.randrange(1_000_000)
    script = Script(options.script)
    hold_s = max(PRESS_HOLD_S, MIN_PRESS_REAL_S * options.speed)
    if options.press_every_min is not None:  # at high speed: pressed half the time at most
        hold_s = min(hold_s, options.press_every_min * 30)
    start = datetime.combine(date.today(), options.start_at)
    loop = asyncio.get_running_loop()
    async with PanelServer(
        host=options.host, port=options.port, units=(options.unit,), size=16
    ) as panel:
        log.info(
            "gate panel on %s:%d unit %d: script %s, seed %d, %gx from %s; "
            "DI0 guard present, DI1 gate open, coil 3 alarm button",
            options.host,
            panel.port,
            options.unit,
            script,
            seed,
            options.speed,
            start.strftime("%H:%M:%S"),
        )
        began = loop.time()
        shown: PanelState | None = None
        while True:
            now = start + timedelta(seconds=(loop.time() - began) * options.speed)
            state = panel_state(
                now,
                seed=seed,
                script=script,
                press_every_min=options.press_every_min,
                press_hold_s=hold_s,
            )
            if state != shown:
                await panel.set_bit(*GUARD_PRESENT, state.guard_present, unit=options.unit)
                await panel.set_bit(*GATE_OPEN, state.gate_open is not None, unit=options.unit)
                await panel.set_bit(*ALARM_BUTTON, state.alarm_pressed, unit=options.unit)
                for line in describe(shown, state):
                    log.info("%s %s", now.strftime("%H:%M:%S"), line)
                shown = state
            await asyncio.sleep(TICK_S)
