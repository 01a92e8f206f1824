"""Reading staffing reports (guard_on / guard_off of gate posts) back from the events table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.gate_staffing import StaffingReport, StaffingSource
from gateway.domain import DeviceKind, EventKind
from gateway.storage.models import Event

EVENTS = cast(Table, Event.__table__)
STAFFING_KINDS = (EventKind.GUARD_ON.value, EventKind.GUARD_OFF.value)
GateKey = tuple[str, str]  # school id, gate id
SOURCES = frozenset(source.value for source in StaffingSource)


def report_of(row: Any) -> StaffingReport:
    return StaffingReport(
        occurred_at=row.occurred_at,
        staffed=row.kind == EventKind.GUARD_ON.value,
        source=StaffingSource(row.transport),
        record_id=row.id,
        guard_id=row.guard_id,
    )


def _staffing(school_ids: Sequence[str] | None) -> Select[Any]:
    c = EVENTS.c
    statement = select(
        c.id, c.school_id, c.device_id, c.transport, c.kind, c.occurred_at, c.guard_id
    ).where(c.device_kind == DeviceKind.GATE.value, c.kind.in_(STAFFING_KINDS))
    if school_ids is not None:
        statement = statement.where(c.school_id.in_(school_ids))
    return statement


async def latest_reports(
    session: AsyncSession,
    *,
    before: datetime | None = None,
    school_ids: Sequence[str] | None = None,
) -> dict[GateKey, list[StaffingReport]]:
    """Per gate, the latest report of each source (by device time), optionally before a time:
    what decides the state of a post at that moment."""
    c = EVENTS.c
    ranked = _staffing(school_ids).add_columns(
        func.row_number()
        .over(
            partition_by=(c.school_id, c.device_id, c.transport),
            order_by=(c.occurred_at.desc(), c.id.desc()),
        )
        .label("rank")
    )
    if before is not None:
        ranked = ranked.where(c.occurred_at < before)
    sub = ranked.subquery()
    rows = await session.execute(select(sub).where(sub.c.rank == 1))
    result: dict[GateKey, list[StaffingReport]] = defaultdict(list)
    for row in rows:
        if row.transport in SOURCES:
            result[(row.school_id, row.device_id)].append(report_of(row))
    return dict(result)


async def recent_reports(
    session: AsyncSession, *, per_gate: int, sources: frozenset[StaffingSource]
) -> dict[GateKey, list[StaffingReport]]:
    """Per gate, its latest `per_gate` reports of `sources` (by device time): enough to see
    when the post took its current state, unless a sensor repeated itself more often."""
    c = EVENTS.c
    ranked = (
        _staffing(None)
        .where(c.transport.in_([s.value for s in sources]))
        .add_columns(
            func.row_number()
            .over(
                partition_by=(c.school_id, c.device_id),
                order_by=(c.occurred_at.desc(), c.id.desc()),
            )
            .label("rank")
        )
        .subquery()
    )
    rows = await session.execute(select(ranked).where(ranked.c.rank <= per_gate))
    result: dict[GateKey, list[StaffingReport]] = defaultdict(list)
    for row in rows:
        result[(row.school_id, row.device_id)].append(report_of(row))
    return dict(result)


async def reports_for_window(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    school_ids: Sequence[str] | None = None,
) -> dict[GateKey, list[StaffingReport]]:
    """Per gate: each source's last report before `start`, and every report in [start, end]:
    what `judge_gate_day` needs when [start, end] is the day's `report_span`."""
    result = await latest_reports(session, before=start, school_ids=school_ids)
    c = EVENTS.c
    rows = await session.execute(
        _staffing(school_ids)
        .where(c.occurred_at >= start, c.occurred_at <= end)
        .order_by(c.occurred_at, c.id)
    )
    for row in rows:
        if row.transport in SOURCES:
            result.setdefault((row.school_id, row.device_id), []).append(report_of(row))
    return result


async def first_report_time(
    session: AsyncSession,
    *,
    school_id: str,
    gate_id: str,
    message_id: str,
    kind: EventKind,
    since: datetime,
) -> datetime | None:
    """When the report a client sent under this id was stored, if it was: a retry that does
    not say `at` means the first attempt's time, not the moment the retry arrived."""
    c = EVENTS.c
    statement = (
        select(func.min(c.occurred_at))
        .where(c.school_id == school_id, c.device_kind == DeviceKind.GATE.value)
        .where(c.device_id == gate_id, c.message_id == message_id, c.kind == kind.value)
        .where(c.occurred_at >= since)
    )
    found: datetime | None = await session.scalar(statement)
    return found
