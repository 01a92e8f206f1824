"""Gate-days and key checkpoint-days over a run of local days, for every school at once: one
read of the staffing reports and one of the patrol scans (gateway/reports/records.py), then
the daily rules over each gate's and checkpoint's record (`judge_timeline`, with the figures
of `judge_gate_day`; `count_patrol_days`, with the counts of `judge_patrol_day`)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.gate_days import DayWindow, judge_timeline, microseconds
from gateway.compliance.gate_staffing import (
    StaffingReport,
    StaffingSource,
    local_day_window,
    report_span,
)
from gateway.compliance.patrols import count_patrol_days
from gateway.reports.records import SubjectKey, gate_timelines, scan_times
from gateway.settings import School, Settings

__all__ = [
    "GateDayResult",
    "PatrolDayResult",
    "ReportsBySource",
    "judge_gate_days",
    "judge_patrol_days",
    "selected_schools",
]


class GateDayResult(Protocol):
    """What a report takes from a judged gate-day (`GateDay` or `GateDayFigures`)."""

    @property
    def compliant(self) -> bool: ...

    @property
    def unstaffed_s(self) -> float: ...


class PatrolDayResult(Protocol):
    """What a report takes from a judged checkpoint-day (`PatrolDay` or `PatrolCount`)."""

    @property
    def compliant(self) -> bool: ...

    @property
    def required(self) -> int: ...

    @property
    def patrols(self) -> int: ...


def selected_schools(settings: Settings, school_ids: Sequence[str] | None) -> list[School]:
    if school_ids is None:
        return list(settings.schools)
    wanted = set(school_ids)
    return [s for s in settings.schools if s.id in wanted]


class ReportsBySource:
    """One gate's reports, indexed so that a day's share is found by bisection instead of
    `judge_gate_day` sifting a whole month's reports for each of its days."""

    def __init__(self, reports: Iterable[StaffingReport]) -> None:
        grouped: dict[StaffingSource, list[StaffingReport]] = defaultdict(list)
        for report in reports:
            grouped[report.source].append(report)
        self._ordered = {
            source: sorted(items, key=lambda r: (r.occurred_at, r.record_id))
            for source, items in grouped.items()
        }
        self._times = {
            source: [r.occurred_at for r in items] for source, items in self._ordered.items()
        }

    def within(self, since: datetime, until: datetime) -> list[StaffingReport]:
        """What `judge_gate_day` needs for the span [since, until] (`report_span`): every
        report in it, and each source's reports at its last instant before `since`."""
        found: list[StaffingReport] = []
        for source, ordered in self._ordered.items():
            times = self._times[source]
            low = bisect_left(times, since)
            high = bisect_right(times, until)
            if low > 0:
                found.extend(ordered[bisect_left(times, times[low - 1], 0, low) : low])
            found.extend(ordered[low:high])
        return found


async def judge_gate_days(
    session: AsyncSession,
    settings: Settings,
    days: Sequence[date],
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> dict[tuple[str, str], tuple[GateDayResult, ...]]:
    """Every configured gate of the schools, judged on each of `days` (begun at `now`)."""
    if not days:
        return {}
    zone = settings.gateway.zone
    max_s = settings.rules.gate_max_unstaffed_s
    since, _ = report_span(min(days), zone, max_unstaffed_s=max_s)
    _, until = report_span(max(days), zone, max_unstaffed_s=max_s)
    gates = [(s.id, g.id) for s in selected_schools(settings, school_ids) for g in s.gates]
    windows = [DayWindow.of(day, zone, max_unstaffed_s=max_s) for day in days]
    moment = microseconds(now)
    judged: dict[tuple[str, str], tuple[GateDayResult, ...]] = {}
    timelines = gate_timelines(session, gates, since=since, until=until, school_ids=school_ids)
    async for key, timeline in timelines:
        judged[key] = tuple(judge_timeline(timeline, windows, now=moment, max_unstaffed_s=max_s))
    return judged


async def judge_patrol_days(
    session: AsyncSession,
    settings: Settings,
    days: Sequence[date],
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> dict[SubjectKey, tuple[PatrolDayResult, ...]]:
    """Every key checkpoint of the schools, judged on each of `days` (begun at `now`) from
    the accepted scans, late uploads at their scan time."""
    if not days:
        return {}
    zone = settings.gateway.zone
    start, _ = local_day_window(min(days), zone)
    _, end = local_day_window(max(days), zone)
    windows = []
    for day in days:
        day_start, day_end = local_day_window(day, zone)
        windows.append((day, microseconds(day_start), microseconds(day_end)))
    rules = settings.rules
    moment = microseconds(now)

    def count(times: Sequence[int]) -> tuple[PatrolDayResult, ...]:
        return tuple(
            count_patrol_days(
                times,
                windows,
                tz=zone,
                now=moment,
                required=rules.patrols_per_day,
                min_spacing_s=rules.patrol_min_spacing_s,
            )
        )

    keys = {(s.id, c.id) for s in selected_schools(settings, school_ids) for c in s.key_checkpoints}
    judged: dict[SubjectKey, tuple[PatrolDayResult, ...]] = {}
    async for key, times in scan_times(session, start=start, end=end, school_ids=school_ids):
        if key in keys:  # scans of other checkpoints are not judged
            judged[key] = count(times)
    for key in keys - judged.keys():
        judged[key] = count(())
    return judged
