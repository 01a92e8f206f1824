"""The chain under concurrent writers (both databases): API requests writing through their
sessions, the runtime's writer storing alerts that open hidden-danger tickets, and two sealers
at once (two gateway instances on one database). Every entry ends up sealed exactly once, at
one position of an unbroken chain, and the log verifies."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import Alert, AlertKind
from gateway.audit.chain import verify_database
from gateway.audit.seal import AuditSealer
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.writer import DatabaseWriter
from tests.support.context import alert_outbox, api_client, bearer, gateway_context
from tests.support.site import site_tree

SCHOOL = "fy-dongguan-ms"
PASSWORD = "concurrent-pass-1"
WRITERS = 8
WRITES_EACH = 6


def site() -> Settings:
    # The engine is given to the context: the URL here is never opened.
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1",
        database_url="sqlite+aiosqlite:///unused.db",
        database_schema=None,
        police_urls={},
    )
    return parse_settings(tree)


@pytest.mark.timeout(180)
async def test_concurrent_writers_and_two_sealers_leave_one_unbroken_chain(
    engine: AsyncEngine,
) -> None:
    settings = site()
    accounts = {"inspector": (Role.INSPECTOR, None)}
    async with (
        gateway_context(settings, engine, accounts, PASSWORD) as context,
        api_client(context) as http,
    ):
        headers = await bearer(http, "inspector", PASSWORD)
        outbox = alert_outbox(context)
        sealers = [AuditSealer(DatabaseWriter(engine), interval_s=0.01) for _ in "ab"]

        async def open_notices(writer: int) -> None:
            for n in range(WRITES_EACH):
                answer = await http.post(
                    "/api/v1/alarm-tests/notices",
                    json={
                        "school": SCHOOL,
                        "button": "btn-north" if n % 2 else "btn-office",
                        "window_minutes": 5,
                        "police_officer": "张警官",
                        "bureau_staff": "李老师",
                        "note": f"writer {writer} notice {n}",
                    },
                    headers=headers,
                )
                assert answer.status_code == 201, answer.text
                if n % 3 == 0:
                    cancelled = await http.post(
                        f"/api/v1/alarm-tests/notices/{answer.json()['notice_id']}/cancel",
                        headers=headers,
                    )
                    assert cancelled.status_code == 200, cancelled.text

        async def raise_alerts(writer: int) -> None:
            start = datetime.now(UTC) - timedelta(hours=1)
            for n in range(WRITES_EACH):
                await outbox.raise_alerts(
                    [
                        Alert(
                            SCHOOL,
                            AlertKind.GATE_UNSTAFFED,
                            "gate",
                            f"gate-{writer % 3}",  # shared subjects: tickets counted on
                            start + timedelta(seconds=n),
                            "北门无人值守",
                        )
                    ]
                )

        async with asyncio.TaskGroup() as group:
            sealing = [
                group.create_task(s.run(), name=f"sealer-{i}") for i, s in enumerate(sealers)
            ]
            async with asyncio.TaskGroup() as writers:
                for w in range(WRITERS):
                    writers.create_task(open_notices(w), name=f"notices-{w}")
                    writers.create_task(raise_alerts(w), name=f"alerts-{w}")
            for task in sealing:
                task.cancel()
        for sealer in sealers:
            await sealer.seal_all()

    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    "SELECT count(*), count(seq), min(seq), max(seq), count(DISTINCT seq) "
                    "FROM audit_entries"
                )
            )
        ).one()
        tickets = (
            await connection.execute(text("SELECT count(*) FROM hazard_tickets"))
        ).scalar_one()
    total, sealed, low, high, distinct = row
    expected_writes = WRITERS * WRITES_EACH * 2  # notices (+ cancels) and alerts, at least
    assert total > expected_writes
    assert (sealed, low, high, distinct) == (total, 1, total, total)
    assert tickets == 3  # one open ticket per gate, repeats counted on it
    result = await verify_database(engine)
    assert result.ok, [p.message for p in result.problems]
    assert result.entries == total
