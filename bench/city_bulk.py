"""Benchmark D's bulk load: the month's days other than the live sample, copied straight into
the gateway's tables (PostgreSQL COPY over asyncpg, rows made by bench/city_rows.py), on a
schema the gateway's own Alembic migrations made. Ids continue after the rows already there
(the live sample's) and the sequences are moved past them, as a restore would; then the
tables are analysed, as autovacuum would have after a month of inserts."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.city_month import CityMonth
from bench.city_rows import COLUMNS, Ids, Row, Rows
from bench.common import DatabaseTarget
from gateway.storage.database import create_engine

# Parents before children (foreign keys): a flush copies the tables in this order.
ORDER = (
    "events",
    "patrol_scans",
    "alarms",
    "police_deliveries",
    "alerts",
    "hazard_tickets",
    "hazard_steps",
    "guard_trainings",
)
FLUSH_ROWS = 50_000


@dataclass(frozen=True, slots=True)
class BulkLoad:
    rows: dict[str, int]  # by table
    days: tuple[date, ...]  # the local days loaded
    seconds: float  # drawing the rows and copying them
    analyse_s: float


async def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under SQLAlchemy's, for COPY."""
    raw = await connection.get_raw_connection()
    return raw.driver_connection


class _Copier:
    def __init__(self, connection: Any, schema: str | None) -> None:
        self.connection = connection
        self.schema = schema
        self.buffers: dict[str, list[Row]] = defaultdict(list)
        self.counts: Counter[str] = Counter()
        self.pending = 0

    async def add(self, rows: Iterable[tuple[str, Row]]) -> None:
        for table, row in rows:
            self.buffers[table].append(row)
            self.pending += 1
        if self.pending >= FLUSH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        for table in ORDER:
            rows = self.buffers.pop(table, [])
            if not rows:
                continue
            await self.connection.copy_records_to_table(
                table, records=rows, columns=list(COLUMNS[table]), schema_name=self.schema
            )
            self.counts[table] += len(rows)
        self.pending = 0


async def max_ids(connection: AsyncConnection) -> dict[str, int]:
    found = {}
    for table in ORDER:
        highest = await connection.execute(text(f'SELECT coalesce(max(id), 0) FROM "{table}"'))
        found[table] = int(highest.scalar_one())
    return found


async def bulk_load(
    target: DatabaseTarget,
    month: CityMonth,
    *,
    police_id: str,
    skip: Sequence[date],
    now: datetime,
) -> BulkLoad:
    """Load every day of `month` but those in `skip` (the live sample), with the gate
    reports just before the month, the alerts, tickets and trainings."""
    started = time.monotonic()
    days = tuple(day for day in month.days if day not in skip)
    engine = create_engine(target.url, schema=target.schema)
    try:
        async with engine.connect() as connection:
            ids = Ids(await max_ids(connection))
            rows = Rows(month, police_id, ids, now=now)
            copier = _Copier(await _driver(connection), target.schema)
            await copier.add(rows.gate_rows(month.before_month()))
            for day in days:
                for school in month.settings.schools:
                    await copier.add(rows.day_rows(month.day(school, day)))
            await copier.add(rows.closing_rows())
            await copier.flush()
            for table in ORDER:  # the next ids the gateway takes come after these
                if copier.counts[table]:
                    sequence = f"{target.schema}.{table}" if target.schema else table
                    await connection.execute(
                        text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                        {"table": sequence, "last": ids.last(table)},
                    )
            await connection.commit()
            loaded = time.monotonic()
            for table in ORDER:
                await connection.execute(text(f'ANALYZE "{table}"'))
            await connection.commit()
    finally:
        await engine.dispose()
    return BulkLoad(
        rows=dict(copier.counts),
        days=days,
        seconds=loaded - started,
        analyse_s=time.monotonic() - loaded,
    )
