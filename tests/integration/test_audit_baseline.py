"""A database from before the log (revision 0008) keeps verifying after the upgrade: the
migration records every row it finds as a baseline entry (both databases)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import insert, text

from gateway.audit.chain import verify_database
from gateway.storage.database import create_engine
from gateway.storage.migrate import upgrade_database
from gateway.storage.models import GuardTraining, User
from tests.support.audit import assert_log_intact


async def test_rows_from_before_the_log_are_its_baseline(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        await upgrade_database(engine, "0008")
        at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        async with engine.begin() as connection:  # written by a gateway from before the log
            await connection.execute(
                insert(User.__table__).values(
                    username="old-admin",
                    password_hash="h",
                    role="admin",
                    disabled=False,
                    created_at=at,
                )
            )
            await connection.execute(
                insert(GuardTraining.__table__).values(
                    school_id="s",
                    guard_id="g",
                    trained_on=date(2026, 1, 2),
                    topic="消防",
                    hours=2,
                    recorded_by="old-admin",
                    recorded_at=at,
                )
            )
        await upgrade_database(engine)
        async with engine.connect() as connection:
            baseline = (
                await connection.execute(
                    text(
                        "SELECT table_name, actor FROM audit_entries WHERE action = 'baseline' "
                        "ORDER BY table_name"
                    )
                )
            ).all()
        assert [tuple(row) for row in baseline] == [
            ("guard_trainings", "migration"),
            ("users", "migration"),
        ]
        await assert_log_intact(engine)
        # Changed after the upgrade, behind the gateway's back: found.
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE guard_trainings SET hours = 3"))
        result = await verify_database(engine)
        assert result.first_broken is not None
        assert (result.first_broken.table, result.first_broken.kind) == (
            "guard_trainings",
            "row_altered",
        )
    finally:
        await engine.dispose()
