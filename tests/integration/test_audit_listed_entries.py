"""Rows written together share one log entry that lists each row's digest (0010): on both
databases, each row is still checked on its own, a change to one row, to the listing or to
its entry is found at that row or entry, and a later one-row entry (an update) takes over
from the listing for its row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.chain import verify_database
from gateway.audit.digest import EntryAction, listing_digest
from gateway.audit.journal import journal_rows
from gateway.audit.seal import seal_pending
from gateway.audit.verify import BreakKind, Verification
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.storage import models
from gateway.storage.writer import DatabaseWriter
from gateway.storage.writes import insert_events

EVENTS = cast(Table, models.Event.__table__)
ALERTS = cast(Table, models.GatewayAlert.__table__)
AT = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def gate_events(count: int, *, first: int = 0) -> list[DeviceEvent]:
    gate = DeviceRef("fy-dongguan-ms", DeviceKind.GATE, "gate-main")
    return [
        DeviceEvent(
            device=gate,
            kind=EventKind.GUARD_ON if n % 2 == 0 else EventKind.GUARD_OFF,
            message_id=f"m-{n}",
            occurred_at=AT + timedelta(seconds=n),
            received_at=AT + timedelta(seconds=n, milliseconds=40),
            transport=Transport.MQTT,
            topic="campus/fy-dongguan-ms/gate/gate-main/event",
            raw_payload=f'{{"event":"guard_on","id":"m-{n}"}}',
        )
        for n in range(first, first + count)
    ]


async def sql(engine: AsyncEngine, statement: str, **params: Any) -> Any:
    async with engine.begin() as connection:
        result = await connection.execute(text(statement), params)
        return result.all() if result.returns_rows else None


async def sealed(writer: DatabaseWriter) -> None:
    while await writer.run(seal_pending):
        pass


def breaks(result: Verification) -> set[tuple[BreakKind, str, int | None]]:
    return {(p.kind, p.table, p.row_id) for p in result.problems}


async def test_a_batch_is_one_entry_and_each_row_is_checked(engine: AsyncEngine) -> None:
    writer = DatabaseWriter(engine)
    try:
        ids = await writer.run(lambda c: insert_events(c, gate_events(40)))
        await writer.run(lambda c: insert_events(c, gate_events(1, first=40)))
        await sealed(writer)
    finally:
        await writer.aclose()
    rows = sorted(ids.values())
    entries = await sql(
        engine,
        "SELECT row_id, last_row_id, row_digests, digest, seq FROM audit_entries "
        "WHERE table_name = 'events' ORDER BY id",
    )
    assert len(entries) == 2  # one for the 40 rows, one for the single row
    listed, single = entries
    assert (listed.row_id, listed.last_row_id) == (rows[0], rows[-1])
    assert [int(pair.split(":")[0]) for pair in listed.row_digests.split(",")] == rows
    assert listed.digest == listing_digest(listed.row_digests)
    assert (single.last_row_id, single.row_digests) == (None, None)
    intact = await verify_database(engine)
    assert intact.ok, [p.message for p in intact.problems]
    assert intact.rows_checked == 41

    # One row in the middle of the batch changed: found at that row, under the batch's entry.
    middle = rows[17]
    await sql(engine, "UPDATE events SET tag = 'x' WHERE id = :i", i=middle)
    found = await verify_database(engine)
    assert breaks(found) == {(BreakKind.ROW_ALTERED, "events", middle)}
    assert found.first_broken is not None and found.first_broken.seq == listed.seq
    await sql(engine, "UPDATE events SET tag = NULL WHERE id = :i", i=middle)
    assert (await verify_database(engine)).ok

    # One row of the batch deleted.
    await sql(engine, "DELETE FROM events WHERE id = :i", i=rows[-1])
    assert breaks(await verify_database(engine)) == {(BreakKind.ROW_DELETED, "events", rows[-1])}


async def test_an_edited_listing_is_found(engine: AsyncEngine) -> None:
    writer = DatabaseWriter(engine)
    try:
        await writer.run(lambda c: insert_events(c, gate_events(5)))
        await sealed(writer)
    finally:
        await writer.aclose()
    (entry,) = await sql(
        engine,
        "SELECT id, seq, row_id, row_digests FROM audit_entries WHERE row_digests IS NOT NULL",
    )
    pairs = entry.row_digests.split(",")
    forged = ",".join(pairs[:2] + pairs[3:])  # a row dropped from the listing

    # The listing alone: it no longer matches the entry's digest.
    await sql(
        engine, "UPDATE audit_entries SET row_digests = :r WHERE id = :e", r=forged, e=entry.id
    )
    found = await verify_database(engine)
    assert found.first_broken is not None
    assert (found.first_broken.kind, found.first_broken.seq) == (BreakKind.ENTRY_ALTERED, entry.seq)
    dropped = int(pairs[2].split(":")[0])
    assert (BreakKind.ROW_UNRECORDED, "events", dropped) in breaks(found)

    # The listing and its digest together: the chain's hash no longer matches.
    await sql(
        engine,
        "UPDATE audit_entries SET digest = :d WHERE id = :e",
        d=listing_digest(forged),
        e=entry.id,
    )
    found = await verify_database(engine)
    assert found.first_broken is not None
    assert (found.first_broken.kind, found.first_broken.seq) == (BreakKind.ENTRY_ALTERED, entry.seq)
    assert breaks(found) == {
        (BreakKind.ENTRY_ALTERED, "events", entry.row_id),
        (BreakKind.ROW_UNRECORDED, "events", dropped),
    }


def raise_alerts(connection: Connection, ids: Sequence[int]) -> None:
    rows = [
        {
            "id": row_id,
            "school_id": "fy-dongguan-ms",
            "kind": "device_offline",
            "subject_kind": "gate",
            "subject_id": f"gate-{row_id}",
            "raised_at": AT,
            "payload": '{"state":"offline"}',
        }
        for row_id in ids
    ]
    stored = connection.execute(insert(ALERTS).returning(*ALERTS.c), rows).all()
    journal_rows(connection, ALERTS, stored, action=EntryAction.INSERT)


def publish_alerts(connection: Connection, ids: Sequence[int]) -> None:
    stored = connection.execute(
        update(ALERTS)
        .where(ALERTS.c.id.in_(ids))
        .values(published_at=AT + timedelta(seconds=1))
        .returning(*ALERTS.c)
    ).all()
    journal_rows(connection, ALERTS, stored, action=EntryAction.UPDATE)


async def test_interleaved_listings_and_later_updates(engine: AsyncEngine) -> None:
    """Two writers' batches interleave their ids (PostgreSQL's sequences do); a row is
    checked against its latest entry, one-row or listed, whichever came last."""
    writer = DatabaseWriter(engine)
    try:
        await writer.run(lambda c: raise_alerts(c, [10, 12, 14]))
        await writer.run(lambda c: raise_alerts(c, [11, 13]))
        await writer.run(lambda c: publish_alerts(c, [12]))  # one row: a one-row entry
        await writer.run(lambda c: raise_alerts(c, [15]))
        await writer.run(lambda c: publish_alerts(c, [15, 10]))  # listed, after 15's own
        await sealed(writer)
    finally:
        await writer.aclose()
    intact = await verify_database(engine)
    assert intact.ok, [p.message for p in intact.problems]
    assert intact.rows_checked == 6

    # Row 12 is checked against its update, not the batch: undoing the update is a change.
    await sql(engine, "UPDATE alerts SET published_at = NULL WHERE id = 12")
    async with engine.connect() as connection:
        assert (
            await connection.execute(select(ALERTS.c.published_at).where(ALERTS.c.id == 12))
        ).scalar_one() is None
    assert breaks(await verify_database(engine)) == {(BreakKind.ROW_ALTERED, "alerts", 12)}
    # Row 13, of the other writer's batch, changed: found there.
    await sql(engine, "UPDATE alerts SET subject_id = 'gate-x' WHERE id = 13")
    assert breaks(await verify_database(engine)) == {
        (BreakKind.ROW_ALTERED, "alerts", 12),
        (BreakKind.ROW_ALTERED, "alerts", 13),
    }
