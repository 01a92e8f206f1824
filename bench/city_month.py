"""Benchmark D's month: what happens at every school of the city on each local day, drawn
deterministically from the seed, the school, the device and the day (a day can be drawn
alone: the live sample and the bulk-loaded days come from the same draw).

- Gates are staffed around the clock: three shift changes and two or three breaks a day,
  each absence a few minutes; at the schools drawn as lax, some gate-days have one absence of
  15 minutes to 2 hours (the gate-day is then not compliant).
- Key checkpoints are patrolled at the configured rounds (5 a day from 08:00, each scanned
  within 25 minutes of its time); at the lax schools one checkpoint misses a round or two on
  some days, and now and then any checkpoint misses one. Other checkpoints get a scan or two.
  A few scans carry a forged tag (refused, kept as suspicious).
- Each alarm button is tested once in the month (a few twice), the police acknowledging in
  seconds; at a few schools a button or two are never tested. Emergencies are rare (about
  40 a month over 1,000 schools), acknowledged in seconds, a few only after escalation.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gateway.compliance.alarm_tests import month_window
from gateway.patrol.queries import rounds_of_day
from gateway.patrol.tokens import sign_tag
from gateway.reports.period import month_days
from gateway.settings import School, Settings

EMERGENCIES_PER_SCHOOL_DAY = 40 / (1000 * 30)
MIN_SCAN_GAP = timedelta(minutes=2)  # never a duplicate (the same guard within 60 s)


@dataclass(frozen=True, slots=True)
class GateReport:
    school_id: str
    gate_id: str
    at: datetime  # UTC, device time
    staffed: bool
    guard_id: str


@dataclass(frozen=True, slots=True)
class Scan:
    school_id: str
    checkpoint_id: str
    guard_id: str
    at: datetime
    tag: str


@dataclass(frozen=True, slots=True)
class Press:
    school_id: str
    button_id: str
    at: datetime
    test: bool
    ack_after_s: float  # the police centre's acknowledgement, after the gateway received it
    escalated_after_s: float | None


@dataclass(frozen=True, slots=True)
class Lapse:
    """A violation the gateway's live watch would have raised an alert for."""

    school_id: str
    subject_kind: str  # gate or checkpoint
    subject_id: str
    start: datetime  # the absence's start, or the missed round's due time
    end: datetime  # the absence's end, or the end of the round's grace


@dataclass(frozen=True, slots=True)
class SchoolDay:
    gate_reports: tuple[GateReport, ...]
    scans: tuple[Scan, ...]
    presses: tuple[Press, ...]
    lapses: tuple[Lapse, ...]


@dataclass(frozen=True, slots=True)
class Traits:
    """How a school keeps the rules, drawn once per school."""

    gate_lapse_rate: float  # share of gate-days with one long absence
    weak_checkpoint: str | None  # a key checkpoint that misses rounds on some days
    untested: frozenset[str]  # buttons never tested this month
    tests: dict[str, tuple[date, ...]]  # the days each button is tested


def to_ms(moment: datetime) -> datetime:
    """Devices send times to the millisecond: what the gateway stores of them."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def simulated_month(now: datetime, zone: ZoneInfo) -> date:
    """The month before the one `now` is in (local): complete, the one a report is due for."""
    first = now.astimezone(zone).date().replace(day=1)
    return (first - timedelta(days=1)).replace(day=1)


class CityMonth:
    def __init__(self, settings: Settings, month: date, seed: int) -> None:
        self.settings = settings
        self.zone = settings.gateway.zone
        self.month = month.replace(day=1)
        self.days = month_days(self.month)
        self.start, self.end = month_window(self.month, self.zone)
        self.seed = seed
        self.traits = {school.id: self._traits(school) for school in settings.schools}
        self._tags = {
            (school.id, c.id): sign_tag(settings.patrol, school.id, c.id)
            for school in settings.schools
            for c in school.checkpoints
        }

    def _rng(self, *parts: object) -> random.Random:
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def _traits(self, school: School) -> Traits:
        rng = self._rng(school.id, "traits")
        keys = school.key_checkpoints
        buttons = [b.id for b in school.alarm_buttons]
        untested: set[str] = set()
        if buttons and rng.random() < 0.06:
            untested = set(rng.sample(buttons, min(len(buttons), rng.randint(1, 2))))
        tests = {}
        for button in buttons:
            if button in untested:
                continue
            count = 2 if rng.random() < 0.05 else 1
            tests[button] = tuple(sorted(rng.sample(self.days, count)))
        return Traits(
            gate_lapse_rate=rng.uniform(0.15, 0.4) if rng.random() < 0.12 else 0.0,
            weak_checkpoint=keys[0].id if keys and rng.random() < 0.10 else None,
            untested=frozenset(untested),
            tests=tests,
        )

    def at(self, day: date, hours: float) -> datetime:
        """`hours` after the local midnight that begins `day`, in UTC."""
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        return to_ms((midnight + timedelta(hours=hours)).astimezone(UTC))

    def tag(self, school_id: str, checkpoint_id: str) -> str:
        return self._tags[(school_id, checkpoint_id)]

    def before_month(self) -> list[GateReport]:
        """Each gate staffed before the month begins: the month's first absence is measured
        from a known state, as in a gateway that has run for months."""
        at = self.start.astimezone(UTC) - timedelta(minutes=10)
        return [
            GateReport(school.id, gate.id, at, True, school.guards[0].id if school.guards else "")
            for school in self.settings.schools
            for gate in school.gates
        ]

    def day(self, school: School, day: date) -> SchoolDay:
        """Everything of one school on one local day, in no particular order."""
        reports: list[GateReport] = []
        lapses: list[Lapse] = []
        for gate_index, gate in enumerate(school.gates):
            gate_reports, lapse = self._gate_day(school, gate.id, gate_index, day)
            reports.extend(gate_reports)
            lapses.extend(lapse)
        scans: list[Scan] = []
        for checkpoint in school.checkpoints:
            if checkpoint.key_area:
                key_scans, missed = self._key_checkpoint_day(school, checkpoint.id, day)
                scans.extend(key_scans)
                lapses.extend(missed)
            else:
                scans.extend(self._other_checkpoint_day(school, checkpoint.id, day))
        return SchoolDay(
            tuple(reports), tuple(scans), tuple(self._presses(school, day)), tuple(lapses)
        )

    def _guard(self, school: School, day: date, shift: int) -> str:
        if not school.guards:
            return "unknown"
        return school.guards[(day.toordinal() * 3 + shift) % len(school.guards)].id

    def _gate_day(
        self, school: School, gate_id: str, gate_index: int, day: date
    ) -> tuple[list[GateReport], list[Lapse]]:
        rng = self._rng(school.id, gate_id, day)
        # Shift changes (the night shift's just after midnight) and breaks, in local hours.
        starts = [0.1 + rng.uniform(0, 0.15), 8 + rng.uniform(-0.15, 0.15)]
        starts += [16 + rng.uniform(-0.15, 0.15)]
        starts += [rng.uniform(1, 23) for _ in range(rng.randint(2, 3))]
        starts.sort()
        kept = [starts[0]]
        for hour in starts[1:]:
            if hour - kept[-1] > 0.35:
                kept.append(hour)
        durations = [rng.uniform(60, 480) for _ in kept]
        lax = rng.random() < self.traits[school.id].gate_lapse_rate
        if lax:
            durations[rng.randrange(len(kept))] = rng.uniform(900, 7200)
        reports: list[GateReport] = []
        lapses: list[Lapse] = []
        for index, hour in enumerate(kept):
            until = kept[index + 1] if index + 1 < len(kept) else 24.0
            seconds = min(durations[index], (until - hour) * 3600 - 60)
            off = self.at(day, hour)
            on = to_ms(off + timedelta(seconds=seconds))
            shift = min(2, int(hour // 8))
            guard = self._guard(school, day, shift + gate_index)
            reports.append(GateReport(school.id, gate_id, off, False, guard))
            reports.append(GateReport(school.id, gate_id, on, True, guard))
            if seconds > self.settings.rules.gate_max_unstaffed_s:
                lapses.append(Lapse(school.id, "gate", gate_id, off, on))
        return reports, lapses

    def _key_checkpoint_day(
        self, school: School, checkpoint_id: str, day: date
    ) -> tuple[list[Scan], list[Lapse]]:
        rng = self._rng(school.id, checkpoint_id, day)
        rounds = list(rounds_of_day(self.settings, day))
        missed: set[int] = set()
        if checkpoint_id == self.traits[school.id].weak_checkpoint and rng.random() < 0.4:
            missed = set(rng.sample(range(len(rounds)), rng.randint(1, 2)))
        elif rng.random() < 0.005:
            missed = {rng.randrange(len(rounds))}
        times: list[datetime] = []
        for index, due in enumerate(rounds):
            if index not in missed:
                times.append(due + timedelta(minutes=rng.uniform(-25, 25)))
        if rng.random() < 0.25 and times:
            times.append(rng.choice(times) + timedelta(minutes=rng.uniform(62, 100)))
        grace = timedelta(seconds=self.settings.patrol.grace_s)
        lapses = [
            Lapse(school.id, "checkpoint", checkpoint_id, rounds[i], rounds[i] + grace)
            for i in sorted(missed)
        ]
        return self._scans(school, checkpoint_id, day, times, rng), lapses

    def _other_checkpoint_day(self, school: School, checkpoint_id: str, day: date) -> list[Scan]:
        rng = self._rng(school.id, checkpoint_id, day)
        times = [self.at(day, rng.uniform(9, 21)) for _ in range(rng.randint(1, 2))]
        return self._scans(school, checkpoint_id, day, times, rng)

    def _scans(
        self,
        school: School,
        checkpoint_id: str,
        day: date,
        times: list[datetime],
        rng: random.Random,
    ) -> list[Scan]:
        first, last = self.at(day, 0), self.at(day, 24) - timedelta(seconds=1)
        scans: list[Scan] = []
        for at in sorted(to_ms(min(max(t, first), last)) for t in times):
            if scans and at - scans[-1].at < MIN_SCAN_GAP:
                continue
            tag = self.tag(school.id, checkpoint_id)
            if rng.random() < 0.002:  # a copied tag with a made-up signature
                tag = tag[:-4] + ("AAAA" if not tag.endswith("AAAA") else "BBBB")
            guard = self._guard(school, day, int(at.astimezone(self.zone).hour // 8))
            scans.append(Scan(school.id, checkpoint_id, guard, at, tag))
        return scans

    def _presses(self, school: School, day: date) -> Iterator[Press]:
        rng = self._rng(school.id, "presses", day)
        for button, days in self.traits[school.id].tests.items():
            for _ in range(days.count(day)):
                at = self.at(day, rng.uniform(9, 16.5))
                yield Press(school.id, button, at, True, rng.uniform(0.3, 3.0), None)
        if school.alarm_buttons and rng.random() < EMERGENCIES_PER_SCHOOL_DAY:
            button = rng.choice(school.alarm_buttons).id
            at = self.at(day, rng.uniform(0, 24))
            if rng.random() < 0.1:  # nobody answered within the escalation time
                escalation = self.settings.linkage.escalation_s
                yield Press(school.id, button, at, False, rng.uniform(70, 240), escalation)
            else:
                yield Press(school.id, button, at, False, rng.uniform(1, 25), None)
