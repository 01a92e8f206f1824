"""What the month's gate-days and checkpoint-days are judged on, read for the whole site at
once in the compact form the report's judges take: per gate its `Timeline` of judged
staffing reports, per checkpoint the times of its accepted scans (microseconds, in order).

On PostgreSQL the database does the grouping and ordering and hands back one array per gate
or checkpoint (a city's month is some 1.5 million records: row by row through the ORM layer
that alone took seconds); elsewhere (SQLite) the same comes from row-by-row reads. Both give
the same values: tests run them side by side. Both hand them over one gate or checkpoint at
a time, so that the report holds the figures it judged, not the whole month's record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.gate_days import Timeline, microseconds, timeline_of
from gateway.staffing.queries import reports_for_window
from gateway.storage.models import PatrolScan

__all__ = ["GateKey", "SubjectKey", "gate_timelines", "scan_times"]

GateKey = tuple[str, str]  # school id, gate id
SubjectKey = tuple[str, str | None]  # school id, checkpoint id
SCANS = cast(Table, PatrolScan.__table__)

# Microseconds since the epoch, exactly, on any PostgreSQL version (`extract(epoch ...)` is
# a double before 14).
_MICROS = (
    "(CAST(extract(epoch FROM date_trunc('second', {0})) AS bigint) * 1000000"
    " + CAST(extract(microseconds FROM {0}) AS bigint) % 1000000)"
)
_JUDGED = "e.kind IN ('guard_on', 'guard_off') AND e.transport IN ('mqtt', 'modbus', 'api')"
# The latest judged report of each gate before the span (by time, then record): the one
# state `judge_gate_day` starts a span from. One index probe per gate (ix_events_device_time).
_GATES_BEFORE = f"""
SELECT g.school_id, g.gate_id, r.at_us, r.staffed
FROM unnest(CAST(:schools AS text[]), CAST(:gates AS text[])) AS g(school_id, gate_id)
CROSS JOIN LATERAL (
    SELECT {_MICROS.format("e.occurred_at")} AS at_us, e.kind = 'guard_on' AS staffed
    FROM events AS e
    WHERE e.school_id = g.school_id AND e.device_kind = 'gate' AND e.device_id = g.gate_id
      AND {_JUDGED} AND e.occurred_at < :since
    ORDER BY e.occurred_at DESC, e.id DESC
    LIMIT 1
) AS r
"""
# Every judged report of the span per gate, in (time, record) order, each packed in one
# integer: microseconds * 8 + 4 if staffed + the source (0 mqtt, 1 modbus, 2 api), so that
# one array and one sort per gate carry it all.
_GATES_SPAN = f"""
SELECT e.school_id, e.device_id,
       array_agg({_MICROS.format("e.occurred_at")} * 8
                 + CASE WHEN e.kind = 'guard_on' THEN 4 ELSE 0 END
                 + CASE e.transport WHEN 'mqtt' THEN 0 WHEN 'modbus' THEN 1 ELSE 2 END
                 ORDER BY e.occurred_at, e.id) AS packed
FROM events AS e
WHERE e.device_kind = 'gate' AND {_JUDGED}
  AND e.occurred_at >= :since AND e.occurred_at <= :until {{schools}}
GROUP BY e.school_id, e.device_id
"""
_SCANS = f"""
SELECT s.school_id, s.checkpoint_id,
       array_agg({_MICROS.format("s.scanned_at")} ORDER BY s.scanned_at) AS times
FROM patrol_scans AS s
WHERE s.accepted AND s.scanned_at >= :start AND s.scanned_at < :end {{schools}}
GROUP BY s.school_id, s.checkpoint_id
"""


async def _dialect(session: AsyncSession) -> str:
    return (await session.connection()).dialect.name


def _schools_clause(alias: str, school_ids: Sequence[str] | None) -> tuple[str, dict[str, Any]]:
    if school_ids is None:
        return "", {}
    return f"AND {alias}.school_id = ANY(CAST(:school_ids AS text[]))", {
        "school_ids": list(school_ids)
    }


def unpack(packed: Sequence[int], before: tuple[int, bool] | None) -> Timeline:
    """A gate's packed span (see `_GATES_SPAN`) without copies (one per source, instant and
    state: the first stored), after its latest report before the span."""
    head = [] if before is None else [before]
    times = [at for at, _ in head] + [value >> 3 for value in packed]
    staffed = [state for _, state in head] + [value & 4 != 0 for value in packed]
    if len(set(times)) == len(times):
        return Timeline(times, staffed)  # no two reports at one instant: nothing to drop
    kept_times, kept_staffed = times[: len(head)], staffed[: len(head)]
    instant = -1
    seen: set[int] = set()  # source and state at the current instant
    for value in packed:
        at, kind = value >> 3, value & 7
        if at != instant:
            instant = at
            seen.clear()
        elif kind in seen:
            continue  # a copy of a report already taken at this instant
        seen.add(kind)
        kept_times.append(at)
        kept_staffed.append(kind >= 4)
    return Timeline(kept_times, kept_staffed)


async def gate_timelines(
    session: AsyncSession,
    gates: Sequence[GateKey],
    *,
    since: datetime,
    until: datetime,
    school_ids: Sequence[str] | None,
) -> AsyncIterator[tuple[GateKey, Timeline]]:
    """The timeline of each of `gates` over [since, until] (a run of days' report spans), in
    no particular order, one at a time: a caller that judges each and lets it go holds one
    gate's record at a time, not the city's month."""
    if await _dialect(session) != "postgresql":
        reports = await reports_for_window(session, start=since, end=until, school_ids=school_ids)
        for key in gates:
            yield key, timeline_of(reports.pop(key, ()), since=since)
        return
    before: dict[GateKey, tuple[int, bool]] = {}
    if gates:
        rows = await session.execute(
            text(_GATES_BEFORE),
            {
                "schools": [school for school, _ in gates],
                "gates": [gate for _, gate in gates],
                "since": since,
            },
        )
        before = {(r.school_id, r.gate_id): (r.at_us, r.staffed) for r in rows}
    waiting = set(gates)
    clause, parameters = _schools_clause("e", school_ids)
    span = await session.stream(
        text(_GATES_SPAN.format(schools=clause)), {"since": since, "until": until, **parameters}
    )
    async for row in span:
        key = (row.school_id, row.device_id)
        if key in waiting:  # a gate no longer configured is not judged
            waiting.discard(key)
            yield key, unpack(row.packed, before.get(key))
    for key in gates:
        if key in waiting:
            yield key, unpack((), before.get(key))


async def scan_times(
    session: AsyncSession, *, start: datetime, end: datetime, school_ids: Sequence[str] | None
) -> AsyncIterator[tuple[SubjectKey, Sequence[int]]]:
    """Per checkpoint with accepted scans in [start, end), their times in order; one
    checkpoint at a time, in no particular order."""
    if await _dialect(session) == "postgresql":
        clause, parameters = _schools_clause("s", school_ids)
        rows = await session.stream(
            text(_SCANS.format(schools=clause)), {"start": start, "end": end, **parameters}
        )
        async for row in rows:
            yield (row.school_id, row.checkpoint_id), row.times
        return
    c = SCANS.c
    query = select(c.school_id, c.checkpoint_id, c.scanned_at).where(
        c.accepted.is_(True), c.scanned_at >= start, c.scanned_at < end
    )
    if school_ids is not None:
        query = query.where(c.school_id.in_(school_ids))
    found: dict[SubjectKey, list[int]] = defaultdict(list)
    for row in await session.execute(query):
        found[(row.school_id, row.checkpoint_id)].append(microseconds(row.scanned_at))
    for key, times in found.items():
        times.sort()
        yield key, times
