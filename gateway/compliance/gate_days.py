"""Many local days of one gate at once, for the monthly report and the calendar: whether each
day was staffed around the clock and how long the gate stood empty, by the rule of
`judge_gate_day` and with exactly its figures (tests check one against the other), but
without what only the API shows (the intervals, each source's view, the disagreements),
which cost most of its time: a city's month is some 70,000 gate-days.

Pure. Times are integer microseconds since the epoch, so that sums and lengths are exact like
the timedeltas of `judge_gate_day`; a gate's judged reports come as one `Timeline`."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.compliance.gate_staffing import (
    JUDGED_SOURCES,
    StaffingReport,
    StaffingSource,
    local_day_window,
    report_span,
)

__all__ = [
    "DayWindow",
    "GateDayFigures",
    "Timeline",
    "judge_timeline",
    "microseconds",
    "timeline_of",
]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DISAGREEMENT_MIN_S = 60.0  # judge_gate_day's default: its report span reaches this far too


def microseconds(moment: datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True, slots=True)
class DayWindow:
    """A local day and the reports its judgement reaches (`report_span`), in microseconds."""

    day: date
    start: int  # the local midnight that begins it
    end: int  # the next local midnight
    since: int
    until: int

    @classmethod
    def of(cls, day: date, tz: ZoneInfo, *, max_unstaffed_s: int) -> DayWindow:
        start, end = local_day_window(day, tz)
        since, until = report_span(
            day, tz, max_unstaffed_s=max_unstaffed_s, disagreement_min_s=DISAGREEMENT_MIN_S
        )
        return cls(day, microseconds(start), microseconds(end), *map(microseconds, (since, until)))


@dataclass(frozen=True, slots=True)
class GateDayFigures:
    """What the report and the calendar take from a `GateDay`: the same values."""

    day: date
    compliant: bool
    unstaffed_s: float
    longest_unstaffed_s: float


@dataclass(frozen=True, slots=True)
class Timeline:
    """A gate's judged reports as `judge_gate_day` sees them over a run of days: the latest
    one before the first day's span (at most one), then every report of the span without
    copies (one per source, instant and state: the first stored), in (time, record) order."""

    times: Sequence[int]  # microseconds
    staffed: Sequence[bool]


def timeline_of(
    reports: Iterable[StaffingReport],
    *,
    since: datetime,
    judged: frozenset[StaffingSource] = JUDGED_SOURCES,
) -> Timeline:
    """The timeline of what `reports_for_window(start=since, ...)` read for one gate: each
    source's latest report before `since`, of which only the latest counts, then the span."""
    chosen = [r for r in reports if r.source in judged]
    before = [r for r in chosen if r.occurred_at < since]
    first: dict[tuple[StaffingSource, datetime, bool], StaffingReport] = {}
    for r in chosen:
        if r.occurred_at < since:
            continue
        key = (r.source, r.occurred_at, r.staffed)
        if key not in first or r.record_id < first[key].record_id:
            first[key] = r
    ordered = sorted(first.values(), key=lambda r: (r.occurred_at, r.record_id))
    if before:
        ordered.insert(0, max(before, key=lambda r: (r.occurred_at, r.record_id)))
    return Timeline([microseconds(r.occurred_at) for r in ordered], [r.staffed for r in ordered])


def judge_timeline(
    timeline: Timeline, windows: Sequence[DayWindow], *, now: int, max_unstaffed_s: int
) -> list[GateDayFigures]:
    """Each day of `windows` (none may begin after `now`) as `judge_gate_day` judges it."""
    return [_day(timeline, window, now, max_unstaffed_s) for window in windows]


def _day(timeline: Timeline, window: DayWindow, now: int, max_unstaffed_s: int) -> GateDayFigures:
    times, staffed = timeline.times, timeline.staffed
    start = window.start
    window_end = min(window.end, now)
    known_until = min(window.until, now)  # reports past now are not believed yet
    low = bisect_left(times, window.since)
    high = bisect_right(times, known_until)
    # The state is known from the latest report before the span, else (unknown, counted as
    # empty) from the day's start or the first report, whichever is earlier.
    if low > 0:
        known_from, state = times[low - 1], staffed[low - 1]
        replaces = False
    else:
        known_from = min(start, times[low]) if low < high else start
        state, replaces = None, True
    runs: list[tuple[int, int]] = []  # maximal stretches not staffed (unknown or empty)
    run_start = None if state is True else known_from
    index = low
    while index < high:
        at = times[index]
        while index + 1 < high and times[index + 1] == at:  # of one instant the last wins
            index += 1
        value = staffed[index]
        index += 1
        if replaces and at == known_from:  # the unknown stretch before it is empty
            run_start = None if value else at
        elif value and run_start is not None:
            runs.append((run_start, at))
            run_start = None
        elif not value and run_start is None:
            run_start = at
        replaces = False
    if run_start is not None:
        runs.append((run_start, known_until))
    unstaffed = longest = 0
    found = False
    for low_at, high_at in runs:
        clipped = min(high_at, window_end) - max(low_at, start)
        if clipped > 0:
            unstaffed += clipped
            longest = max(longest, high_at - low_at)
            found = True
    longest_s = longest / 10**6 if found else 0.0
    return GateDayFigures(
        day=window.day,
        compliant=longest_s <= max_unstaffed_s,
        unstaffed_s=unstaffed / 10**6,
        longest_unstaffed_s=longest_s,
    )
