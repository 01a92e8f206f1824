"""Writing the log: every write of an audited row appends an entry, in the same transaction
as the write, so a record and its entry commit or vanish together. The rows one statement
wrote (a batch of telemetry events, say) share one entry that lists each row's digest: the
log then costs the ingest path a digest per row, not an entry to insert and seal per row.

Core writes (the runtime's, on a `Connection`) call `journal_rows` with the rows their
statements returned (or read back with `read_back`); ORM writes (the API's sessions) are
journalled at flush by `AuditedSession`. Rows are digested as the database returns them, the
same way `verify` reads them later."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Row, Table, event, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, UOWTransaction

from gateway.audit.digest import EntryAction, listing, listing_digest, row_digest
from gateway.storage.models import (
    Alarm,
    AlarmAction,
    AuditEntry,
    Base,
    Event,
    GatewayAlert,
    GuardTraining,
    HazardStep,
    HazardTicket,
    PatrolScan,
    PoliceDelivery,
    Snapshot,
    TestNotice,
    User,
    UserAction,
)

ENTRIES = cast(Table, AuditEntry.__table__)
SYSTEM_ACTOR = "gateway"
PENDING = "campus_audit_pending"  # key in Connection.info while a journal batch is open
READ_BACK_CHUNK = 500

# The records an inspector relies on. Device status (the `devices` table) is state, not a
# record, and changes with every message: it is not audited.
AUDITED_MODELS: tuple[type[Base], ...] = (
    Event,
    Snapshot,
    Alarm,
    PoliceDelivery,
    AlarmAction,
    TestNotice,
    PatrolScan,
    GatewayAlert,
    HazardTicket,
    HazardStep,
    GuardTraining,
    User,
    UserAction,
)
AUDITED_TABLES: dict[str, Table] = {
    cast(Table, model.__table__).name: cast(Table, model.__table__) for model in AUDITED_MODELS
}


def _row_mapping(row: Row[Any] | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(row, Row):
        return cast(Mapping[str, Any], row._mapping)
    return row


def entries_for(
    table: Table,
    rows: Iterable[Row[Any] | Mapping[str, Any]],
    *,
    action: EntryAction,
    actor: str,
    at: datetime,
) -> list[dict[str, Any]]:
    """One entry per row of `rows` of `table` (each with every column, as stored)."""
    entries = []
    for row in rows:
        values = _row_mapping(row)
        entries.append(
            _entry(
                table,
                values["id"],
                action=action,
                digest="" if action is EntryAction.DELETE else row_digest(table, values),
                actor=actor,
                at=at,
            )
        )
    return entries


def listed_entry(
    table: Table,
    rows: Sequence[Row[Any] | Mapping[str, Any]],
    *,
    action: EntryAction,
    actor: str,
    at: datetime,
) -> dict[str, Any]:
    """One entry recording several rows of `table` written by one statement: their ids and
    digests listed in `row_digests`, its own digest that of the listing. Its `row_id` and
    `last_row_id` are the lowest and highest ids (the ids between may be other writers')."""
    if action is EntryAction.DELETE:
        raise ValueError("deletions are recorded one entry per row")
    digests = []
    for row in rows:
        values = _row_mapping(row)
        digests.append((int(values["id"]), row_digest(table, values)))
    text = listing(digests)
    entry = _entry(
        table,
        min(row_id for row_id, _ in digests),
        action=action,
        digest=listing_digest(text),
        actor=actor,
        at=at,
    )
    entry["last_row_id"] = max(row_id for row_id, _ in digests)
    entry["row_digests"] = text
    return entry


def _entry(
    table: Table, row_id: int, *, action: EntryAction, digest: str, actor: str, at: datetime
) -> dict[str, Any]:
    return {
        "table_name": table.name,
        "row_id": row_id,
        "last_row_id": None,
        "row_digests": None,
        "action": action.value,
        "digest": digest,
        "actor": actor,
        "recorded_at": at,
    }


@cache
def _insert_entries() -> Insert:
    return insert(ENTRIES)  # built once: on the alarm path, building it costs more than running it


def append_entries(connection: Connection, entries: Sequence[dict[str, Any]]) -> None:
    if entries:
        connection.execute(_insert_entries(), list(entries))


@contextmanager
def journal_batch(connection: Connection) -> Iterator[None]:
    """Entries journalled inside are written in one INSERT when it ends, still inside the
    transaction: the runtime's transactions (a press: its event, alarm and deliveries) pay
    one statement for the log, not one per write."""
    pending: list[dict[str, Any]] = []
    # Held here: after a cancelled statement the connection is invalid, and asking it for
    # its `info` again would raise over the CancelledError (and lose the cancellation).
    info = connection.info
    info[PENDING] = pending
    try:
        yield
        append_entries(connection, pending)
    finally:
        info.pop(PENDING, None)


def journal_rows(
    connection: Connection,
    table: Table,
    rows: Iterable[Row[Any] | Mapping[str, Any]],
    *,
    action: EntryAction,
    actor: str = SYSTEM_ACTOR,
    at: datetime | None = None,
) -> None:
    """Record rows as stored: every column, as a statement returned them
    (`.returning(*table.c)`) or as they were inserted, with their id. Several rows written
    together share one entry (`listed_entry`)."""
    written = list(rows)
    if not written:
        return
    when = at or datetime.now(UTC)
    if len(written) == 1 or action is EntryAction.DELETE:
        entries = entries_for(table, written, action=action, actor=actor, at=when)
    else:
        entries = [listed_entry(table, written, action=action, actor=actor, at=when)]
    pending = connection.info.get(PENDING)
    if pending is None:
        append_entries(connection, entries)
    else:
        pending.extend(entries)


def read_back(connection: Connection, table: Table, ids: Iterable[int]) -> list[Row[Any]]:
    wanted = sorted(set(ids))
    rows: list[Row[Any]] = []
    for start in range(0, len(wanted), READ_BACK_CHUNK):
        chunk = wanted[start : start + READ_BACK_CHUNK]
        rows.extend(connection.execute(select(table).where(table.c.id.in_(chunk))).all())
    return rows


class AuditedSession(Session):
    """A session whose flushes journal the audited rows they wrote. `session.info["actor"]`
    names who is writing (the API sets it to the signed-in user)."""


@event.listens_for(AuditedSession, "after_flush")
def _journal_flush(session: Session, _context: UOWTransaction) -> None:
    written: dict[str, dict[int, EntryAction]] = {}

    def note(instance: object, action: EntryAction) -> None:
        table = getattr(type(instance), "__table__", None)
        if isinstance(table, Table) and table.name in AUDITED_TABLES:
            written.setdefault(table.name, {})[instance.id] = action  # type: ignore[attr-defined]

    for instance in session.new:
        note(instance, EntryAction.INSERT)
    for instance in session.dirty:
        if session.is_modified(instance, include_collections=False):
            note(instance, EntryAction.UPDATE)
    for instance in session.deleted:
        note(instance, EntryAction.DELETE)
    if not written:
        return
    actor = str(session.info.get("actor", SYSTEM_ACTOR))
    at = datetime.now(UTC)
    connection = session.connection()
    entries: list[dict[str, Any]] = []
    for name, actions in written.items():
        table = AUDITED_TABLES[name]
        deleted = [row_id for row_id, action in actions.items() if action is EntryAction.DELETE]
        entries += entries_for(
            table,
            ({"id": row_id} for row_id in deleted),
            action=EntryAction.DELETE,
            actor=actor,
            at=at,
        )
        for row in read_back(connection, table, (i for i in actions if i not in deleted)):
            entries += entries_for(table, [row], action=actions[row.id], actor=actor, at=at)
    append_entries(connection, entries)
