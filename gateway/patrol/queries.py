"""Reading patrol scans back, and judging the key checkpoints' days from them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.gate_staffing import local_day_window
from gateway.compliance.patrols import PatrolDay, ScanRecord, judge_patrol_day, round_times
from gateway.settings import Checkpoint, School, Settings
from gateway.storage.models import PatrolScan

MAX_SCANS = 20_000  # one page of a day's scans; a school scans a few hundred a day


async def scans_between(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    school_ids: Sequence[str] | None,
    accepted: bool | None = None,
    limit: int = MAX_SCANS,
) -> list[PatrolScan]:
    """Scans with a scan time in [start, end), in time order."""
    query = select(PatrolScan).where(PatrolScan.scanned_at >= start, PatrolScan.scanned_at < end)
    if school_ids is not None:
        query = query.where(PatrolScan.school_id.in_(school_ids))
    if accepted is not None:
        query = query.where(PatrolScan.accepted.is_(accepted))
    query = query.order_by(PatrolScan.scanned_at, PatrolScan.id).limit(limit)
    return list((await session.scalars(query)).all())


def as_record(row: PatrolScan) -> ScanRecord:
    return ScanRecord(row.scanned_at, row.guard_id, row.source, row.id)


@dataclass(frozen=True, slots=True)
class CheckpointDay:
    school: School
    checkpoint: Checkpoint
    judged: PatrolDay
    scans: tuple[PatrolScan, ...]  # every scan of the checkpoint that day, refused ones too


def rounds_of_day(settings: Settings, day: date) -> tuple[datetime, ...]:
    patrol = settings.patrol
    return round_times(
        day,
        settings.gateway.zone,
        times=patrol.round_times,
        first=patrol.first_round,
        per_day=settings.rules.patrols_per_day,
    )


async def judge_day(
    session: AsyncSession,
    settings: Settings,
    *,
    day: date,
    now: datetime,
    school_ids: Sequence[str] | None,
) -> list[CheckpointDay]:
    """Every key checkpoint of the schools, judged for the local day."""
    zone = settings.gateway.zone
    start, end = local_day_window(day, zone)
    rows = await scans_between(session, start=start, end=end, school_ids=school_ids)
    by_checkpoint: dict[tuple[str, str | None], list[PatrolScan]] = defaultdict(list)
    for row in rows:
        by_checkpoint[(row.school_id, row.checkpoint_id)].append(row)
    rounds = rounds_of_day(settings, day)
    days = []
    for school in settings.schools:
        if school_ids is not None and school.id not in school_ids:
            continue
        for checkpoint in school.key_checkpoints:
            scans = by_checkpoint.get((school.id, checkpoint.id), [])
            judged = judge_patrol_day(
                [as_record(s) for s in scans if s.accepted],
                day=day,
                tz=zone,
                now=now,
                required=settings.rules.patrols_per_day,
                min_spacing_s=settings.rules.patrol_min_spacing_s,
                rounds=rounds,
                grace_s=settings.patrol.grace_s,
            )
            days.append(CheckpointDay(school, checkpoint, judged, tuple(scans)))
    return days


@dataclass(frozen=True, slots=True)
class Standing:
    """A key checkpoint's day as it stands after a scan: for the answer to the guard."""

    patrols: int
    required: int
    counted_ids: frozenset[int]


async def standing(
    session: AsyncSession,
    settings: Settings,
    *,
    school_id: str,
    checkpoint_id: str,
    at: datetime,
    now: datetime,
) -> Standing | None:
    """The day of the scan at `at` for its checkpoint; None unless it is a key checkpoint."""
    school = settings.school(school_id)
    checkpoint = school.checkpoint(checkpoint_id) if school else None
    if checkpoint is None or not checkpoint.key_area:
        return None
    zone = settings.gateway.zone
    day = at.astimezone(zone).date()
    start, end = local_day_window(day, zone)
    rows = await scans_between(session, start=start, end=end, school_ids=[school_id], accepted=True)
    judged = judge_patrol_day(
        [as_record(r) for r in rows if r.checkpoint_id == checkpoint_id],
        day=day,
        tz=zone,
        now=max(now, at),
        required=settings.rules.patrols_per_day,
        min_spacing_s=settings.rules.patrol_min_spacing_s,
    )
    return Standing(
        len(judged.counted), judged.required, frozenset(s.record_id for s in judged.counted)
    )
