"""Migration 0015 gives every stored event its content key, the one the runtime computes
(so a message redelivered across the upgrade is still known as a copy), leaves the audit
log intact, and goes back only while no id was reused (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest
from alembic import command
from sqlalchemy import Table, column, insert, table, text
from sqlalchemy.engine import Connection

from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.storage.database import create_engine
from gateway.storage.migrate import alembic_config, upgrade_database
from gateway.storage.models import Event
from gateway.storage.writer import DatabaseWriter
from tests.support.audit import assert_log_intact

EVENTS = cast(Table, Event.__table__)
BEFORE = [
    # (kind, device kind, device, id, device time, guard, tag)
    ("press", "alarm", "btn-north", "1", datetime(2026, 11, 3, 1, 2, 3, 456789, tzinfo=UTC)),
    ("restore", "alarm", "btn-north", "2", datetime(2026, 11, 3, 1, 2, 4, tzinfo=UTC)),
    (
        "guard_on",
        "gate",
        "gate-north",
        "g-1",
        datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC),
    ),
]
SCAN = ("scan", "checkpoint", "cp-dorm", "s-1", datetime(2026, 11, 4, 8, tzinfo=UTC))


def as_event(
    kind: str,
    device_kind: str,
    device: str,
    message_id: str,
    at: datetime,
    guard: str | None = None,
    tag: str | None = None,
) -> DeviceEvent:
    return DeviceEvent(
        device=DeviceRef("fy-dongguan-ms", DeviceKind(device_kind), device),
        kind=EventKind(kind),
        message_id=message_id,
        occurred_at=at,
        received_at=at,
        transport=Transport.MQTT,
        topic="campus/x",
        raw_payload="{}",
        guard_id=guard,
        tag=tag,
    )


def insert_at_0013(connection: Connection, events: list[DeviceEvent]) -> None:
    """Events as the gateway stored them before 0015 (no content key), journalled as it did."""
    before = table("events", *(column(c.key, c.type) for c in EVENTS.c if c.key != "content_key"))
    for event in events:
        row = {
            "school_id": event.device.school_id,
            "device_kind": event.device.kind.value,
            "device_id": event.device.device_id,
            "message_id": event.message_id,
            "kind": event.kind.value,
            "transport": event.transport.value,
            "occurred_at": event.occurred_at,
            "received_at": event.received_at,
            "clock_skew_s": 0.0,
            "topic": event.topic,
            "raw_payload": event.raw_payload,
            "guard_id": event.guard_id,
            "tag": event.tag,
        }
        stored = connection.execute(insert(before).values(row).returning(*before.c)).all()
        journal_rows(connection, EVENTS, stored, action=EntryAction.INSERT)


async def downgrade(engine: Any, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_stored_events_get_the_runtime_content_key(database: tuple[str, str | None]) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    writer = DatabaseWriter(engine)
    events = [as_event(*row) for row in BEFORE] + [as_event(*SCAN, "guard-李", "tag/ü?x")]
    try:
        await upgrade_database(engine, "0013")
        await writer.run(lambda c: insert_at_0013(c, events))
        await upgrade_database(engine)
        async with engine.connect() as connection:
            keys: dict[str, str] = dict(
                (await connection.execute(text("SELECT message_id, content_key FROM events"))).all()
            )
        assert keys == {event.message_id: event.content_key for event in events}
        await assert_log_intact(engine)
        # No id reused yet: 0015 can be undone, and done again.
        await downgrade(engine, "0013")
        await upgrade_database(engine)
        await assert_log_intact(engine)
    finally:
        await writer.aclose()
        await engine.dispose()


async def test_no_downgrade_once_an_id_was_reused(database: tuple[str, str | None]) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        await upgrade_database(engine)
        async with engine.begin() as connection:
            for kind, key in (("restore", "a" * 16), ("press", "b" * 16)):
                await connection.execute(
                    text(
                        "INSERT INTO events (school_id, device_kind, device_id, message_id, "
                        "content_key, kind, transport, occurred_at, received_at, clock_skew_s, "
                        "topic, raw_payload) VALUES ('s', 'alarm', 'b', '7', :key, :kind, "
                        "'mqtt', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0, 't', '{}')"
                    ),
                    {"key": key, "kind": kind},
                )
        with pytest.raises(RuntimeError, match="1 message ids were reused"):
            await downgrade(engine, "0013")
    finally:
        await engine.dispose()
