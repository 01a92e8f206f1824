"""The report's reads on PostgreSQL (grouped and ordered by the database, one array per gate
or checkpoint) give exactly what its row-by-row reads give (those of SQLite): gate reports
from every source with copies and clashes at one instant, reports before and after the span,
other events of the gates, gates no longer configured; accepted and refused scans."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.reports import records
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.models import Event, PatrolScan

SINCE = datetime(2026, 9, 1, tzinfo=UTC)
UNTIL = datetime(2026, 9, 4, tzinfo=UTC)
GATES = [("s1", "g1"), ("s1", "g2"), ("s2", "g1"), ("s3", "g9")]  # s3/g9: nothing on record


@pytest.fixture
async def pg_engine(postgres_database: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    url, schema = postgres_database
    engine = create_engine(url, schema=schema)
    await upgrade_database(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


def event_rows(rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    moments = [SINCE + timedelta(minutes=rng.randrange(-3000, 6000)) for _ in range(60)]
    for index in range(900):
        school, gate = rng.choice([*GATES[:3], ("s2", "old-gate")])
        at = rng.choice(moments) + timedelta(microseconds=rng.choice([0, 0, 0, 1, 999_999]))
        kind = rng.choice(["guard_on", "guard_on", "guard_off", "guard_off", "open"])
        rows.append(
            {
                "school_id": school,
                "device_kind": "gate",
                "device_id": gate,
                "message_id": f"m{index}",
                "kind": kind,
                "transport": rng.choice(["mqtt", "mqtt", "modbus", "api", "camera"]),
                "occurred_at": at,
                "received_at": at,
                "clock_skew_s": 0.0,
                "topic": "t",
                "raw_payload": "{}",
            }
        )
    return rows


def scan_rows(rng: random.Random) -> list[dict[str, Any]]:
    return [
        {
            "school_id": rng.choice(["s1", "s2"]),
            "checkpoint_id": rng.choice(["cp1", "cp2", None]),
            "guard_id": "g",
            "source": "reader",
            "message_id": f"scan{index}",
            "tag": "tag",
            "scanned_at": SINCE + timedelta(minutes=rng.randrange(-600, 5000), microseconds=7),
            "received_at": SINCE,
            "accepted": rng.random() < 0.8,
        }
        for index in range(400)
    ]


async def both(engine: AsyncEngine, read: Any) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """What `read(session)` yields through the PostgreSQL reads and the row-by-row ones."""
    found = []
    for dialect in ("postgresql", "sqlite"):

        async def named(session: Any, name: str = dialect) -> str:
            return name

        original = records._dialect
        records._dialect = named
        try:
            async with create_sessionmaker(engine)() as session:
                found.append({key: value async for key, value in read(session)})
        finally:
            records._dialect = original
    return found[0], found[1]


@pytest.mark.parametrize("seed", range(3))
async def test_gate_timelines_on_postgresql_are_the_row_by_row_ones(
    pg_engine: AsyncEngine, seed: int
) -> None:
    async with pg_engine.begin() as connection:
        await connection.execute(insert(Event), event_rows(random.Random(seed)))
    for school_ids in (None, ["s1"]):
        gates = [g for g in GATES if school_ids is None or g[0] in school_ids]

        def read(session: Any, gates: list[tuple[str, str]] = gates, ids: Any = school_ids) -> Any:
            return records.gate_timelines(session, gates, since=SINCE, until=UNTIL, school_ids=ids)

        fast, plain = await both(pg_engine, read)
        assert fast == plain
        assert set(fast) == set(gates)
        assert any(len(t.times) > 10 for t in fast.values())


@pytest.mark.parametrize("seed", range(3))
async def test_scan_times_on_postgresql_are_the_row_by_row_ones(
    pg_engine: AsyncEngine, seed: int
) -> None:
    async with pg_engine.begin() as connection:
        await connection.execute(insert(PatrolScan), scan_rows(random.Random(seed)))
    for school_ids in (None, ["s2"]):

        def read(session: Any, ids: Any = school_ids) -> Any:
            return records.scan_times(session, start=SINCE, end=UNTIL, school_ids=ids)

        fast, plain = await both(pg_engine, read)
        assert {k: list(v) for k, v in fast.items()} == {k: list(v) for k, v in plain.items()}
        assert len(fast) >= 2
