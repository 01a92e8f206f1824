"""Benchmark D's bulk load (bench/city_bulk.py) at a small scale, on PostgreSQL migrated by
the gateway's own migrations: the rows go in (a column the schema no longer has, or a new one
it requires, fails here first), the sequences move past them, and the monthly report and the
calendar read the month back whole."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, insert, select

from bench.city_bulk import bulk_load
from bench.city_month import CityMonth
from bench.common import DatabaseTarget
from gateway.reports.calendar import month_calendar
from gateway.reports.figures import monthly_report
from gateway.settings import parse_settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.models import Event
from tests.unit.bench.test_city_site import tree

NOW = datetime(2026, 12, 3, tzinfo=UTC)


async def test_a_small_citys_month_loads_and_reports(
    postgres_database: tuple[str, str | None],
) -> None:
    url, schema = postgres_database
    settings = parse_settings(tree(3))
    month = CityMonth(settings, date(2026, 11, 1), seed=5)
    engine = create_engine(url, schema=schema)
    try:
        await upgrade_database(engine)
        loaded = await bulk_load(
            DatabaseTarget(url, schema, "PostgreSQL"),
            month,
            police_id="bench-110",
            skip=[month.days[-1]],
            now=NOW,
        )
        assert loaded.days == month.days[:-1]
        assert loaded.rows["events"] > 1000 and loaded.rows["patrol_scans"] > 500
        async with engine.begin() as connection:  # the gateway's next id comes after them
            await connection.execute(
                insert(Event).values(
                    school_id="s0001", device_kind="gate", device_id="gate1", message_id="x",
                    kind="guard_on", transport="mqtt", occurred_at=NOW, received_at=NOW,
                    clock_skew_s=0.0, topic="t", raw_payload="{}",
                )
            )  # fmt: skip
            count = (await connection.execute(select(func.count()).select_from(Event))).scalar()
            assert count == loaded.rows["events"] + 1
        async with create_sessionmaker(engine)() as session:
            report = await monthly_report(session, settings, "2026-11", now=NOW)
            calendar = await month_calendar(session, settings, "2026-11", now=NOW)
    finally:
        await engine.dispose()
    gates = sum(len(s.gates) for s in settings.schools)
    keys = sum(len(s.key_checkpoints) for s in settings.schools)
    total = report.total
    assert total.schools == 3
    assert total.gate_days.required == gates * 30
    # Staffed but for a few lapses (the last day, not loaded, stays as the day before ended).
    assert gates * 30 * 0.8 <= total.gate_days.done <= gates * 30
    assert total.patrol_days.required == keys * 30
    assert keys * 29 * 0.8 <= total.patrol_days.done <= keys * 29  # none the last day
    assert total.alarm_tests.required == sum(len(s.alarm_buttons) for s in settings.schools)
    assert total.hazards_opened > 0
    assert [c.school.id for c in calendar] == ["s0001", "s0002", "s0003"]
    assert all(len(c.days) == 30 for c in calendar)
