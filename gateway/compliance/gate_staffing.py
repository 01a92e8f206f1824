"""The school gate is staffed 24 hours a day (校门口24小时有人值守): the judgement per gate
and per local calendar day, and the post's live state.

Pure: the reports, the calendar and `now` come in; nothing is read from a clock or a store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import combinations
from zoneinfo import ZoneInfo

from gateway.compliance.intervals import Interval, Step, clip, overlay, runs, steps

__all__ = [
    "JUDGED_SOURCES",
    "Disagreement",
    "GateDay",
    "Interval",
    "PostState",
    "StaffingReport",
    "StaffingSource",
    "current_state",
    "judge_gate_day",
    "local_day_window",
    "report_span",
    "unstaffed_for_s",
]


class StaffingSource(StrEnum):
    MQTT = "mqtt"  # the post's sensor or button
    MODBUS = "modbus"  # an occupancy input
    API = "api"  # the guard's check-in/out on the phone
    CAMERA = "camera"  # presence detection: corroborating evidence only


JUDGED_SOURCES: frozenset[StaffingSource] = frozenset(
    {StaffingSource.MQTT, StaffingSource.MODBUS, StaffingSource.API}
)


@dataclass(frozen=True, slots=True)
class StaffingReport:
    occurred_at: datetime  # aware, device time
    staffed: bool  # guard_on / guard_off
    source: StaffingSource
    record_id: int  # storage id: arrival order, the tiebreak at one instant
    guard_id: str | None = None


@dataclass(frozen=True, slots=True)
class Disagreement:
    """Two sources with a known state saying different things."""

    start: datetime
    end: datetime
    states: tuple[tuple[StaffingSource, bool], ...]  # sorted by source


@dataclass(frozen=True, slots=True)
class GateDay:
    day: date
    window_start: datetime
    window_end: datetime  # min(next local midnight, now)
    complete: bool
    staffed_s: float
    unstaffed_s: float
    unstaffed: tuple[Interval, ...]
    longest_unstaffed_s: float  # over full durations
    max_unstaffed_s: int
    compliant: bool
    sources: tuple[tuple[StaffingSource, tuple[Interval, ...]], ...]  # staffed, per source
    disagreements: tuple[Disagreement, ...]


@dataclass(frozen=True, slots=True)
class PostState:
    staffed: bool | None  # None: no judged report yet
    since: datetime | None  # when the post took this state
    source: StaffingSource | None  # the source of the report that changed it

    def __post_init__(self) -> None:
        if (self.staffed is None) != (self.since is None) or (self.since is None) != (
            self.source is None
        ):
            raise ValueError("a post state has all of staffed, since and source, or none")


def local_day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar day (23 or 25 hours on DST days)."""
    if isinstance(day, datetime):
        raise ValueError(f"day must be a date, not the datetime {day.isoformat()}")
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def report_span(
    day: date, tz: ZoneInfo, *, max_unstaffed_s: int, disagreement_min_s: float = 60.0
) -> tuple[datetime, datetime]:
    """The reports `judge_gate_day` needs for a day: every report in [since, until], and for
    each source its reports at its last instant before `since` (normally one). Reaching
    back as far as forward lets an absence that began before midnight be measured from
    its true start, however many sources reported it or however often."""
    if max_unstaffed_s < 0 or disagreement_min_s < 0:
        raise ValueError("max_unstaffed_s and disagreement_min_s must not be negative")
    start, end = local_day_window(day, tz)
    margin = timedelta(seconds=max(max_unstaffed_s, disagreement_min_s))
    return start - margin, end + margin


def judge_gate_day(
    reports: Iterable[StaffingReport],
    *,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    max_unstaffed_s: int,
    judged: frozenset[StaffingSource] = JUDGED_SOURCES,
    disagreement_min_s: float = 60.0,
) -> GateDay:
    """Judge one gate on one local day. Pass at least the reports `report_span` names; any
    superset gives the same answer. The judged state is the latest report of the judged
    sources; unknown (no report yet) counts as unstaffed. An absence that crosses a window
    edge is judged on its full length, known as far as the reports reach (bounded by the
    span and by `now`)."""
    now = _utc(now, "now")
    if not judged:
        raise ValueError("judged must name at least one source")
    since, until = report_span(
        day, tz, max_unstaffed_s=max_unstaffed_s, disagreement_min_s=disagreement_min_s
    )
    start, end = local_day_window(day, tz)
    if now < start:
        raise ValueError(
            f"{day.isoformat()} ({tz.key}) begins at {start.isoformat()}, after now "
            f"({now.isoformat()}): a day in the future cannot be judged"
        )
    window_end = min(end, now)
    known_until = min(until, now)  # reports past now (clocks ahead) are not believed yet
    by_source = _relevant(reports, since, known_until)

    judged_reports = sorted(
        (r for s, rs in by_source.items() if s in judged for r in rs), key=_order
    )
    judged_steps = _state_steps(judged_reports, since, start, known_until)
    unstaffed = clip(runs(judged_steps, lambda v: v is not True), start, window_end)
    unstaffed_td = sum((i.end - i.start for i in unstaffed), timedelta())
    longest = max((i.full_duration_s for i in unstaffed), default=0.0)

    source_steps = {s: _state_steps(rs, since, start, known_until) for s, rs in by_source.items()}
    sources = tuple(
        (s, tuple(clip(runs(source_steps[s], lambda v: v is True), start, window_end)))
        for s in sorted(source_steps)
    )
    disagreements = sorted(
        (
            d
            for a, b in combinations(sorted(source_steps), 2)
            for d in _disagreements(
                a,
                b,
                overlay(source_steps[a], source_steps[b]),
                disagreement_min_s,
                start,
                window_end,
            )
        ),
        key=lambda d: (d.start, d.end, d.states),
    )
    return GateDay(
        day=day,
        window_start=start,
        window_end=window_end,
        complete=now >= end,
        staffed_s=(window_end - start - unstaffed_td).total_seconds(),
        unstaffed_s=unstaffed_td.total_seconds(),
        unstaffed=tuple(unstaffed),
        longest_unstaffed_s=longest,
        max_unstaffed_s=max_unstaffed_s,
        compliant=longest <= max_unstaffed_s,
        sources=sources,
        disagreements=tuple(disagreements),
    )


def current_state(
    reports: Iterable[StaffingReport], judged: frozenset[StaffingSource] = JUDGED_SOURCES
) -> PostState:
    """The post's state after the latest judged report, and since when it has held. Pass
    the reports since at least the last change (more is harmless): a report that repeats
    the state does not move `since`, so a sensor that re-sends "empty" cannot keep
    resetting the unstaffed clock."""
    ordered = sorted(
        (r for r in _deduplicated(_utc_report(r) for r in reports) if r.source in judged),
        key=_order,
    )
    if not ordered:
        return PostState(staffed=None, since=None, source=None)
    setter = ordered[0]
    for report in ordered[1:]:
        if report.staffed != setter.staffed:
            setter = report
    return PostState(staffed=setter.staffed, since=setter.occurred_at, source=setter.source)


def unstaffed_for_s(state: PostState, *, now: datetime, known_since: datetime) -> float:
    """How long the post has been empty at `now` (0 when staffed). An unknown state counts
    as unstaffed since `known_since` (the gateway's start)."""
    now = _utc(now, "now")
    known_since = _utc(known_since, "known_since")
    if state.staffed:
        return 0.0
    empty_since = known_since if state.since is None else state.since
    return max(0.0, (now - empty_since).total_seconds())


def _order(report: StaffingReport) -> tuple[datetime, int]:
    return report.occurred_at, report.record_id


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _utc_report(report: StaffingReport) -> StaffingReport:
    at = _utc(report.occurred_at, f"occurred_at of report {report.record_id}")
    return report if at.tzinfo is report.occurred_at.tzinfo else replace(report, occurred_at=at)


def _deduplicated(reports: Iterable[StaffingReport]) -> list[StaffingReport]:
    """One report per (source, time, state): the first to arrive, so that a copy arriving
    later cannot win a tiebreak the original lost."""
    first: dict[tuple[StaffingSource, datetime, bool], StaffingReport] = {}
    for r in reports:
        key = (r.source, r.occurred_at, r.staffed)
        if key not in first or r.record_id < first[key].record_id:
            first[key] = r
    return list(first.values())


def _relevant(
    reports: Iterable[StaffingReport], since: datetime, until: datetime
) -> dict[StaffingSource, list[StaffingReport]]:
    """Per source, sorted: its reports at its last instant before `since` and those in
    [since, until]. Everything else cannot change the answer, so it is dropped: that is
    what makes the answer the same for any superset of the reports the caller must pass."""
    kept: list[StaffingReport] = []
    last_before: dict[StaffingSource, datetime] = {}
    for r in map(_utc_report, reports):  # every report is checked, even one dropped
        if r.occurred_at > until:
            continue
        kept.append(r)
        if r.occurred_at < since:
            latest = last_before.get(r.source)
            if latest is None or r.occurred_at > latest:
                last_before[r.source] = r.occurred_at
    by_source: dict[StaffingSource, list[StaffingReport]] = {}
    for r in sorted(_deduplicated(kept), key=_order):
        if r.occurred_at >= since or r.occurred_at == last_before.get(r.source):
            by_source.setdefault(r.source, []).append(r)
    return by_source


def _state_steps(
    reports: Sequence[StaffingReport], since: datetime, window_start: datetime, until: datetime
) -> list[Step[bool | None]]:
    """The state the reports give, from as early as it is known up to `until`. Before
    `since` only the latest report counts (the others were superseded) and the state is
    known from its time on. With none, the state is unknown (unstaffed) before the first
    report, but only from the window's start: time before any report is not added to an
    absence's length, since nothing is known of it (the day it belongs to counts it)."""
    before = [r for r in reports if r.occurred_at < since]
    changes = [(r.occurred_at, r.staffed) for r in reports if r.occurred_at >= since]
    if before:
        return steps(before[-1].staffed, changes, start=before[-1].occurred_at, end=until)
    known_from = min([window_start, *(at for at, _ in changes)])
    return steps(None, changes, start=known_from, end=until)


def _disagreements(
    a: StaffingSource,
    b: StaffingSource,
    pieces: Sequence[Step[tuple[bool | None, bool | None]]],
    min_s: float,
    start: datetime,
    end: datetime,
) -> list[Disagreement]:
    found: list[Disagreement] = []
    for piece in pieces:
        va, vb = piece.value
        # shorter than min_s (over its whole length) is the lag between a guard sitting
        # down and a sensor or phone saying so
        if va is None or vb is None or va == vb:
            continue
        if (piece.end - piece.start).total_seconds() < min_s:
            continue
        for part in clip([(piece.start, piece.end)], start, end):
            found.append(Disagreement(part.start, part.end, ((a, va), (b, vb))))
    return found
