"""Gate-days and key checkpoint-days over a run of local days, for every school at once: one
read of the staffing reports and one of the patrol scans, then the daily rules
(`judge_gate_day`, `judge_patrol_day`) day by day on the part of the record each day needs."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.gate_staffing import (
    GateDay,
    StaffingReport,
    StaffingSource,
    judge_gate_day,
    local_day_window,
    report_span,
)
from gateway.compliance.patrols import PatrolDay, ScanRecord, judge_patrol_day
from gateway.settings import School, Settings
from gateway.staffing.queries import reports_for_window
from gateway.storage.models import PatrolScan

__all__ = ["ReportsBySource", "judge_gate_days", "judge_patrol_days", "selected_schools"]

SubjectKey = tuple[str, str]  # school id, gate or checkpoint id
SCANS = cast(Table, PatrolScan.__table__)


def selected_schools(settings: Settings, school_ids: Sequence[str] | None) -> list[School]:
    return [s for s in settings.schools if school_ids is None or s.id in school_ids]


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
) -> dict[SubjectKey, tuple[GateDay, ...]]:
    """Every configured gate of the schools, judged on each of `days` (begun at `now`)."""
    if not days:
        return {}
    zone = settings.gateway.zone
    max_s = settings.rules.gate_max_unstaffed_s
    since, _ = report_span(min(days), zone, max_unstaffed_s=max_s)
    _, until = report_span(max(days), zone, max_unstaffed_s=max_s)
    reports = await reports_for_window(session, start=since, end=until, school_ids=school_ids)
    judged: dict[SubjectKey, tuple[GateDay, ...]] = {}
    for school in selected_schools(settings, school_ids):
        for gate in school.gates:
            index = ReportsBySource(reports.get((school.id, gate.id), ()))
            judged[(school.id, gate.id)] = tuple(
                judge_gate_day(
                    index.within(*report_span(day, zone, max_unstaffed_s=max_s)),
                    day=day,
                    tz=zone,
                    now=now,
                    max_unstaffed_s=max_s,
                )
                for day in days
            )
    return judged


async def judge_patrol_days(
    session: AsyncSession,
    settings: Settings,
    days: Sequence[date],
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> dict[SubjectKey, tuple[PatrolDay, ...]]:
    """Every key checkpoint of the schools, judged on each of `days` (begun at `now`) from
    the accepted scans, late uploads at their scan time."""
    if not days:
        return {}
    zone = settings.gateway.zone
    start, _ = local_day_window(min(days), zone)
    _, end = local_day_window(max(days), zone)
    c = SCANS.c  # the table's columns: no ORM entity to load, a third less per row
    query = select(c.id, c.school_id, c.checkpoint_id, c.guard_id, c.source, c.scanned_at).where(
        c.accepted.is_(True), c.scanned_at >= start, c.scanned_at < end
    )
    if school_ids is not None:
        query = query.where(c.school_id.in_(school_ids))
    scans: dict[tuple[str, str | None, date], list[ScanRecord]] = defaultdict(list)
    for row in await session.execute(query):
        day = row.scanned_at.astimezone(zone).date()
        scans[(row.school_id, row.checkpoint_id, day)].append(
            ScanRecord(row.scanned_at, row.guard_id, row.source, row.id)
        )
    rules = settings.rules
    judged: dict[SubjectKey, tuple[PatrolDay, ...]] = {}
    for school in selected_schools(settings, school_ids):
        for checkpoint in school.key_checkpoints:
            judged[(school.id, checkpoint.id)] = tuple(
                judge_patrol_day(
                    scans.get((school.id, checkpoint.id, day), ()),
                    day=day,
                    tz=zone,
                    now=now,
                    required=rules.patrols_per_day,
                    min_spacing_s=rules.patrol_min_spacing_s,
                )
                for day in days
            )
    return judged
