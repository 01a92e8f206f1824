"""Storage on SQLite and PostgreSQL: the migrations build exactly the models' schema, events
are stored once per (device, id), UTC round-trips, and the outbox keeps its rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.settings import parse_settings
from gateway.storage.database import create_sessionmaker
from gateway.storage.delivery_outcomes import record_acknowledged, record_failure
from gateway.storage.models import Alarm, Base, Event, PoliceDelivery
from gateway.storage.outbox import OutboxRepository
from gateway.storage.writer import DatabaseWriter
from gateway.storage.writes import create_alarm, insert_events

SETTINGS = parse_settings(
    {
        "schools": [
            {
                "id": "fy-dongguan-ms",
                "name": "汾阳市东关中学",
                "alarm_buttons": [{"id": "btn-north", "location": "北门警务室", "zone": 1}],
            }
        ]
    }
)
T0 = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)  # 00:30 on 1 December in Shanghai


def press(message_id: str, *, at: datetime = T0) -> DeviceEvent:
    return DeviceEvent(
        device=DeviceRef("fy-dongguan-ms", DeviceKind.ALARM, "btn-north"),
        kind=EventKind.PRESS,
        message_id=message_id,
        occurred_at=at,
        received_at=at + timedelta(milliseconds=120),
        transport=Transport.MQTT,
        topic="campus/fy-dongguan-ms/alarm/btn-north/event",
        raw_payload='{"event":"press"}',
    )


async def test_migrations_match_the_models(engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(differences) == []


async def test_events_are_stored_once_per_device_and_id(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    writer = DatabaseWriter(engine)
    first = await writer.run(lambda c: insert_events(c, [press("a"), press("b"), press("a")]))
    second = await writer.run(lambda c: insert_events(c, [press("b"), press("c")]))
    await writer.aclose()
    assert {key[3] for key in first} == {"a", "b"}
    assert {key[3] for key in second} == {"c"}
    async with sessions() as session:
        rows = (await session.execute(select(Event).order_by(Event.id))).scalars().all()
    assert [row.message_id for row in rows] == ["a", "b", "c"]
    assert rows[0].occurred_at == T0 and rows[0].occurred_at.tzinfo is not None
    assert abs(rows[0].clock_skew_s - 0.12) < 1e-6


async def test_aware_times_in_any_offset_come_back_as_utc(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    shanghai = T0.astimezone(timezone(timedelta(hours=8)))
    writer = DatabaseWriter(engine)
    await writer.run(lambda c: insert_events(c, [press("tz", at=shanghai)]))
    await writer.aclose()
    async with sessions() as session:
        row = (await session.execute(select(Event))).scalar_one()
    assert row.occurred_at == T0
    assert row.occurred_at.utcoffset() == timedelta(0)


async def test_outbox_rows_until_acknowledged(engine: AsyncEngine) -> None:
    sessions = create_sessionmaker(engine)
    writer = DatabaseWriter(engine)
    school = SETTINGS.schools[0]
    event = press("alarm-1")

    def store(connection: Connection) -> tuple[Alarm, list[PoliceDelivery]]:
        ids = insert_events(connection, [event])
        return create_alarm(
            connection,
            event_id=next(iter(ids.values())),
            event=event,
            school=school,
            button=school.alarm_buttons[0],
            endpoint_ids=["city-110", "district-110"],
        )

    alarm, deliveries = await writer.run(store)
    async with sessions() as session:
        assert await OutboxRepository(session).pending_counts() == {
            "city-110": 1,
            "district-110": 1,
        }

    def outcomes(connection: Connection) -> None:
        record_failure(
            connection,
            deliveries[0].id,
            at=T0,
            next_attempt_at=T0 + timedelta(seconds=2),
            status=503,
            response="busy",
        )
        record_acknowledged(
            connection, deliveries[1].id, at=T0, latency_s=0.01, status=200, response="ok"
        )

    await writer.run(outcomes)
    await writer.aclose()
    async with sessions() as session:
        outbox = OutboxRepository(session)
        assert await outbox.pending_counts() == {"city-110": 1}
        [(delivery, pending_alarm)] = await outbox.pending("city-110")
    assert delivery.attempts == 1 and delivery.last_status == 503
    assert delivery.next_attempt_at == T0 + timedelta(seconds=2)
    assert pending_alarm.alarm_id == alarm.alarm_id and pending_alarm.location == "北门警务室"
