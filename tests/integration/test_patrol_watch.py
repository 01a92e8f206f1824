"""Live patrol alerts against a real database (SQLite and PostgreSQL): a round missed beyond
its grace period raises `patrol_overdue` once; a walked round does not; a restart does not
raise it again; rounds missed while the gateway was away are caught up."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import AlertKind, AlertOutbox
from gateway.context import GatewayContext
from gateway.patrol.reasons import ScanSource
from gateway.patrol.records import record_scans
from gateway.patrol.scans import IncomingScan
from gateway.patrol.tokens import sign_tag
from gateway.patrol.watch import PatrolWatch
from gateway.settings import Settings, parse_settings
from gateway.storage.models import GatewayAlert
from tests.support.context import alert_outbox, gateway_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 5, 12)
SCHOOL = "fy-dongguan-ms"


def site() -> Settings:
    return parse_settings(
        {
            "patrol": {
                "keys": {1: "patrol-key-for-tests-0123"},
                "round_times": ["08:00", "12:00", "16:00", "20:00", "23:30"],
                "grace_s": 1800,
            },
            "schools": [
                {
                    "id": SCHOOL,
                    "name": "东关中学",
                    "checkpoints": [
                        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
                        {"id": "cp-yard", "name": "操场"},
                    ],
                    "guards": [{"id": "guard-li", "name": "李师傅"}],
                }
            ],
        }
    )


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(site(), engine) as ctx:
        yield ctx


def outbox(context: GatewayContext) -> AlertOutbox:
    return alert_outbox(context)


async def walk(context: GatewayContext, *times: datetime, checkpoint: str = "cp-dorm") -> None:
    tag = sign_tag(context.settings.patrol, SCHOOL, checkpoint)
    scans = [
        IncomingScan(SCHOOL, "guard-li", tag, at, at, ScanSource.READER, f"m-{at.timestamp()}")
        for at in times
    ]
    outcomes = await context.writer.run(lambda c: record_scans(c, context.settings, scans))
    assert all(o.verdict.accepted for o in outcomes)


async def check(context: GatewayContext, watch: PatrolWatch, now: datetime) -> list[str]:
    async with context.sessions() as session:
        alerts = await watch.check(session, now)
    await outbox(context).raise_alerts(alerts)
    return [a.details["round_due_at"] for a in alerts]


async def test_a_missed_round_alerts_once_after_its_grace(context: GatewayContext) -> None:
    await walk(context, local(7, 50), local(16, 20))  # 08:00 and 16:00 walked; noon missed
    watch = PatrolWatch(context.settings, outbox(context), context.health)
    assert await check(context, watch, local(8, 29)) == []
    assert await check(context, watch, local(12, 29)) == []  # still within the grace period
    assert await check(context, watch, local(12, 31)) == ["2026-05-12T12:00:00+08:00"]
    assert await check(context, watch, local(12, 40)) == []  # once
    assert await check(context, watch, local(16, 31)) == []  # walked at 16:20
    async with context.sessions() as session:
        rows = (await session.scalars(select(GatewayAlert))).all()
    assert [(r.kind, r.subject_kind, r.subject_id) for r in rows] == [
        (AlertKind.PATROL_OVERDUE.value, "checkpoint", "cp-dorm")
    ]
    payload = json.loads(rows[0].payload)
    assert payload["state"] == "active"
    assert payload["patrols"] == 1  # by 12:31: the 07:50 walk
    assert payload["required"] == 5
    assert "宿舍楼12:00的巡查未完成" in payload["message"]


async def test_after_a_restart_missed_rounds_are_caught_up_but_not_repeated(
    context: GatewayContext,
) -> None:
    first = PatrolWatch(context.settings, outbox(context), context.health)
    assert await check(context, first, local(8, 31)) == ["2026-05-12T08:00:00+08:00"]
    # The gateway is away from 09:00 to 17:00: on its return it catches up noon and 16:00,
    # and does not repeat 08:00.
    second = PatrolWatch(context.settings, outbox(context), context.health)
    async with context.sessions() as session:
        await second.load(session, local(17))
    assert await check(context, second, local(17)) == [
        "2026-05-12T12:00:00+08:00",
        "2026-05-12T16:00:00+08:00",
    ]


async def test_a_round_near_midnight_is_judged_in_its_own_day(context: GatewayContext) -> None:
    watch = PatrolWatch(context.settings, outbox(context), context.health)
    await walk(context, *(local(h) for h in (8, 12, 16, 20)))
    assert watch.next_closing(local(21)) == local(0, 0, DAY + timedelta(days=1))
    assert await check(context, watch, local(23, 0)) == []
    overdue = await check(context, watch, local(0, 1, DAY + timedelta(days=1)))
    assert overdue == ["2026-05-12T23:30:00+08:00"]
