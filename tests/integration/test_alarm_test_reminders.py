"""Reminders of the monthly alarm test against a real database (SQLite and PostgreSQL):
`rules.alarm_test_reminder_days` before the month ends, each button without a passed test
raises `alarm_test_due` once, also across a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alarmtests.reminders import AlarmTestReminders
from gateway.alerts import AlertOutbox
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.settings import Settings, parse_settings
from gateway.storage.delivery_outcomes import record_acknowledged
from gateway.storage.models import GatewayAlert
from gateway.storage.writes import create_alarm, event_key, insert_events
from tests.support.context import alert_outbox, gateway_context
from tests.support.gateway import running
from tests.support.police import eventually
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

SHANGHAI = ZoneInfo("Asia/Shanghai")
SCHOOL = "fy-dongguan-ms"


def site() -> Settings:
    return parse_settings(
        {
            "police": [
                {
                    "id": "110",
                    "kind": "webhook",
                    "url": "https://110.example/a",
                    "secret": "12345678",
                }
            ],
            "schools": [
                {
                    "id": SCHOOL,
                    "name": "东关中学",
                    "alarm_buttons": [
                        {"id": "btn-a", "location": "北门警务室", "zone": 1},
                        {"id": "btn-b", "location": "宿舍楼值班室", "zone": 2},
                    ],
                }
            ],
            "rules": {"alarm_tests_per_month": 1, "alarm_test_reminder_days": 5},
        }
    )


def local(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(site(), engine) as ctx:
        yield ctx


async def record_test(context: GatewayContext, button: str, at: datetime) -> None:
    """A test from the button, acknowledged by the police a second later."""
    settings = context.settings
    event = DeviceEvent(
        device=DeviceRef(SCHOOL, DeviceKind.ALARM, button),
        kind=EventKind.TEST,
        message_id=f"t-{button}-{at.timestamp()}",
        occurred_at=at,
        received_at=at,
        transport=Transport.MQTT,
        topic="test://",
        raw_payload="{}",
    )

    def store(connection: Connection) -> None:
        ids = insert_events(connection, [event])
        school = settings.schools[0]
        _, deliveries = create_alarm(
            connection,
            event_id=ids[event_key(event)],
            event=event,
            school=school,
            button=school.button(button),  # type: ignore[arg-type]
            endpoint_ids=["110"],
        )
        record_acknowledged(
            connection, deliveries[0].id, at=at, latency_s=1.0, status=200, response="ok"
        )

    await context.writer.run(store)


def outbox(context: GatewayContext) -> AlertOutbox:
    return alert_outbox(context)


async def check(context: GatewayContext, reminders: AlarmTestReminders, now: datetime) -> list[str]:
    async with context.sessions() as session:
        alerts = await reminders.check(session, now)
    await outbox(context).raise_alerts(alerts)
    return [a.subject_id for a in alerts]


async def test_untested_buttons_are_reminded_once_before_the_month_ends(
    context: GatewayContext,
) -> None:
    await record_test(context, "btn-a", local(11, 3))
    reminders = AlarmTestReminders(context.settings, outbox(context), context.health)
    assert await check(context, reminders, local(11, 25)) == []  # 6 days left
    assert await check(context, reminders, local(11, 26)) == ["btn-b"]  # 5 days left
    assert await check(context, reminders, local(11, 28)) == []  # once
    restarted = AlarmTestReminders(context.settings, outbox(context), context.health)
    async with context.sessions() as session:
        await restarted.load(session, local(11, 29))
    assert await check(context, restarted, local(11, 29)) == []
    # December: neither button tested yet; the 27th leaves 5 days (27..31).
    assert await check(context, restarted, local(12, 26)) == []
    assert await check(context, restarted, local(12, 27)) == ["btn-a", "btn-b"]
    async with context.sessions() as session:
        rows = (await session.scalars(select(GatewayAlert).order_by(GatewayAlert.id))).all()
    payloads = [json.loads(r.payload) for r in rows]
    assert [(p["kind"], p["subject"]["id"], p["month"]) for p in payloads] == [
        ("alarm_test_due", "btn-b", "2026-11"),
        ("alarm_test_due", "btn-a", "2026-12"),
        ("alarm_test_due", "btn-b", "2026-12"),
    ]
    assert payloads[0]["days_left"] == 5
    assert "宿舍楼值班室的一键报警本月尚未完成测试" in payloads[0]["message"]


@pytest.mark.mosquitto
async def test_the_running_gateway_runs_the_reminders(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    """The reminders are one of the gateway's jobs, not only a class: a running gateway has
    their task (they were once made and never started)."""
    url, schema = database
    settings = parse_settings(
        site_tree(
            mqtt_url=mosquitto.url,
            database_url=url,
            database_schema=schema,
            police_urls={"110": "http://127.0.0.1:9/alarm"},
        )
    )
    async with running(settings):

        def started() -> bool:
            return "alarm-test-reminders" in {task.get_name() for task in asyncio.all_tasks()}

        await eventually(started, what="the reminders' task")
