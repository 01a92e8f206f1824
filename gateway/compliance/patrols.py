"""Key areas patrolled at least 5 times a day, with records (校内重点部位和区域每日不少于5次巡查):
the judgement per key checkpoint and local calendar day, and the day's rounds.

Pure: the accepted scans, the calendar and `now` come in; nothing is read from a clock or a
store. A scan counts as a new patrol only `min_spacing_s` after the last one that counted
(so one walk past a checkpoint, scanned three times, is one patrol); the first scan of the
local day always counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo

from gateway.compliance.gate_staffing import local_day_window

__all__ = [
    "PatrolCount",
    "PatrolDay",
    "RoundState",
    "RoundStatus",
    "ScanRecord",
    "count_patrol_days",
    "count_patrols",
    "judge_patrol_day",
    "judge_rounds",
    "round_times",
]

MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """An accepted scan of one checkpoint."""

    scanned_at: datetime  # aware: the scan time (device time), not the upload time
    guard_id: str
    source: str
    record_id: int  # storage id: the tiebreak at one instant

    def __post_init__(self) -> None:
        if self.scanned_at.tzinfo is None:
            raise ValueError("scanned_at must be aware")


class RoundStatus(StrEnum):
    DONE = "done"  # a scan within the round's window
    DUE = "due"  # the window is open and nobody has scanned yet
    OVERDUE = "overdue"  # the window closed without a scan
    UPCOMING = "upcoming"  # the window has not opened


@dataclass(frozen=True, slots=True)
class RoundState:
    due_at: datetime  # UTC
    window_start: datetime  # due_at - grace
    window_end: datetime  # due_at + grace: past it, the round is overdue
    status: RoundStatus
    scan: ScanRecord | None


@dataclass(frozen=True, slots=True)
class PatrolDay:
    day: date
    window_start: datetime
    window_end: datetime  # min(next local midnight, now)
    complete: bool  # the day is over
    required: int
    scans: tuple[ScanRecord, ...]  # every accepted scan of the day, in time order
    counted: tuple[ScanRecord, ...]  # the scans that count as patrols
    compliant: bool  # counted >= required (so far, while the day runs)
    remaining: int  # patrols still needed today
    rounds: tuple[RoundState, ...]

    @property
    def patrols(self) -> int:
        return len(self.counted)


@dataclass(frozen=True, slots=True)
class PatrolCount:
    """What the monthly report and the calendar take from a `PatrolDay`: the same values."""

    day: date
    required: int
    patrols: int  # the scans that count

    @property
    def compliant(self) -> bool:
        return self.patrols >= self.required


def _ordered(scans: Sequence[ScanRecord]) -> list[ScanRecord]:
    """In time order, each record once (one record given twice is still one scan)."""
    unique = {s.record_id: s for s in scans}
    return sorted(unique.values(), key=lambda s: (s.scanned_at, s.record_id))


def count_patrols(scans: Sequence[ScanRecord], *, min_spacing_s: float) -> tuple[ScanRecord, ...]:
    """The scans that count: the first, then each one at least `min_spacing_s` after the last
    one that counted."""
    if min_spacing_s < 0:
        raise ValueError("min_spacing_s must not be negative")
    counted: list[ScanRecord] = []
    spacing = timedelta(seconds=min_spacing_s)
    for scan in _ordered(scans):
        if not counted or scan.scanned_at - counted[-1].scanned_at >= spacing:
            counted.append(scan)
    return tuple(counted)


def round_times(
    day: date, tz: ZoneInfo, *, times: Sequence[str], first: str, per_day: int
) -> tuple[datetime, ...]:
    """The rounds of a local day, in UTC and in order: the configured local times, or
    `per_day` rounds spread evenly over 24 hours from `first` (wrapping past midnight)."""
    if per_day < 1:
        raise ValueError("per_day must be at least 1")
    if times:
        minutes = [_minutes(text) for text in times]
    else:
        start = _minutes(first)
        minutes = [
            (start + round(i * MINUTES_PER_DAY / per_day)) % MINUTES_PER_DAY for i in range(per_day)
        ]
    moments = {
        datetime.combine(day, time(m // 60, m % 60), tzinfo=tz).astimezone(UTC) for m in minutes
    }
    return tuple(sorted(moments))


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    value = int(hours) * 60 + int(minutes)
    if not 0 <= value < MINUTES_PER_DAY:
        raise ValueError(f"{text!r} is not a time of day")
    return value


def judge_rounds(
    due: Sequence[datetime], scans: Sequence[ScanRecord], *, now: datetime, grace_s: float
) -> tuple[RoundState, ...]:
    """Each round is done by the earliest scan within `grace_s` of its time that no earlier
    round took; a round without one is overdue once its window has closed."""
    grace = timedelta(seconds=grace_s)
    ordered = _ordered(scans)
    used: set[int] = set()
    states = []
    for due_at in sorted(due):
        start, end = due_at - grace, due_at + grace
        found = next(
            (
                (index, s)
                for index, s in enumerate(ordered)
                if index not in used and start <= s.scanned_at <= end
            ),
            None,
        )
        scan = None
        if found is not None:
            used.add(found[0])
            scan = found[1]
            status = RoundStatus.DONE
        elif now > end:
            status = RoundStatus.OVERDUE
        elif now >= start:
            status = RoundStatus.DUE
        else:
            status = RoundStatus.UPCOMING
        states.append(
            RoundState(
                due_at.astimezone(UTC), start.astimezone(UTC), end.astimezone(UTC), status, scan
            )
        )
    return tuple(states)


def judge_patrol_day(
    scans: Sequence[ScanRecord],
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    required: int,
    min_spacing_s: float,
    rounds: Sequence[datetime] = (),
    grace_s: float = 1800,
) -> PatrolDay:
    """One key checkpoint's local day: the scans of the day (others are ignored), the
    patrols that count, whether there were at least `required`, and the rounds."""
    if now.tzinfo is None:
        raise ValueError("now must be aware")
    start, midnight = local_day_window(day, tz)
    end = min(midnight, now.astimezone(UTC))
    # A scan past `now` (a clock running ahead) is not believed until its time comes.
    of_day = tuple(
        s for s in _ordered(scans) if start <= s.scanned_at < midnight and s.scanned_at <= now
    )
    counted = count_patrols(of_day, min_spacing_s=min_spacing_s)
    return PatrolDay(
        day=day,
        window_start=start,
        window_end=max(start, end),
        complete=now >= midnight,
        required=required,
        scans=of_day,
        counted=counted,
        compliant=len(counted) >= required,
        remaining=max(0, required - len(counted)),
        rounds=judge_rounds(rounds, of_day, now=now, grace_s=grace_s),
    )


def count_patrol_days(
    times: Sequence[int],
    days: Sequence[tuple[date, int, int]],
    *,
    tz: ZoneInfo,
    now: int,
    required: int,
    min_spacing_s: float,
) -> list[PatrolCount]:
    """`judge_patrol_day`'s count for each of `days` ((day, start, end) in microseconds since
    the epoch, the local day's window, none beginning after `now`), from the sorted times of
    one checkpoint's accepted scans dated that local day: a city's month is some 100,000
    checkpoint-days and 700,000 scans, and only how many counted is wanted of them (which
    ones count does not change how many)."""
    if min_spacing_s < 0:
        raise ValueError("min_spacing_s must not be negative")
    spacing = timedelta(seconds=min_spacing_s) // timedelta(microseconds=1)
    counts = []
    for day, start, end in days:
        # A scan past `now` (a clock running ahead) is not believed until its time comes.
        low, high = (
            bisect_left(times, start),
            min(bisect_left(times, end), bisect_right(times, now)),
        )
        chosen: Sequence[int] = times[low:high]
        if _clocks_move(start, end, tz):
            # Clocks moved that day: where they go back at midnight, an hour of the window
            # belongs to the local day before (a scan is dated by its local date).
            chosen = [t for t in chosen if _local_date(t, tz) == day]
        patrols, last = 0, 0
        for at in chosen:
            if patrols == 0 or at - last >= spacing:
                patrols += 1
                last = at
        counts.append(PatrolCount(day, required, patrols))
    return counts


@cache
def _clocks_move(start: int, end: int, tz: ZoneInfo) -> bool:
    return _offset(start, tz) != _offset(end - 1, tz)


def _moment(at: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=at)


def _offset(at: int, tz: ZoneInfo) -> timedelta | None:
    return _moment(at).astimezone(tz).utcoffset()


def _local_date(at: int, tz: ZoneInfo) -> date:
    return _moment(at).astimezone(tz).date()
