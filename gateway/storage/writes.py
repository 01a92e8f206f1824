"""What the runtime writes, as functions of a `Connection` (run by `DatabaseWriter`):
events (each message once: the same device, id and content), alarms with their police
deliveries, and device status (delivery outcomes are in `delivery_outcomes`). Core
statements: this is the alarm path, the ORM's flush costs more than the inserts. The alarm
path's statements are built once (`@cache`), their values passed at execution: building one
(`insert(...).values(...)`, a `select(...).where(...)`) and compiling its new form cost more
than running it, several milliseconds a press on a slow core."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, cast

from sqlalchemy import Insert, Select, Table, Update, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.domain import ALARM_KIND_OF_EVENT, AlarmKind, DeviceEvent, DeviceRef
from gateway.settings import AlarmButton, School
from gateway.storage.leases import claim_new
from gateway.storage.models import Alarm, Device, Event, PoliceDelivery, Snapshot, TestNotice

# (school, device kind, device, message id, content key): one stored message.
EventKey = tuple[str, str, str, str, str]

EVENTS = cast(Table, Event.__table__)
ALARMS = cast(Table, Alarm.__table__)
DELIVERIES = cast(Table, PoliceDelivery.__table__)
DEVICES = cast(Table, Device.__table__)
SNAPSHOTS = cast(Table, Snapshot.__table__)
NOTICES = cast(Table, TestNotice.__table__)


def event_key(event: DeviceEvent) -> EventKey:
    ref = event.device
    return (ref.school_id, ref.kind.value, ref.device_id, event.message_id, event.content_key)


def lane_of(alarm: Alarm) -> str:
    """Deliveries in one lane keep their order: one lane per button."""
    return button_lane(alarm.school_id, alarm.device_id)


def button_lane(school_id: str, device_id: str) -> str:
    return f"{school_id}/{device_id}"


def new_alarm_id(received_at: datetime) -> str:
    return f"{received_at:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


@cache
def _insert_events(dialect: str) -> Insert:
    """Insert events, skipping a message (device, id, content) already stored; the new rows'
    ids."""
    c = EVENTS.c
    statement: Insert
    if dialect == "postgresql":
        statement = postgresql.insert(EVENTS).on_conflict_do_nothing(
            constraint="uq_events_message_content"
        )
    else:
        statement = sqlite.insert(EVENTS).on_conflict_do_nothing()
    return statement.returning(
        c.id, c.school_id, c.device_kind, c.device_id, c.message_id, c.content_key
    )


@cache
def _ids_stored_twice() -> Select[Any]:
    """Of the (device, message id) pairs named, those with more than one stored message,
    with the row of the first. The IN lists over-approximate the pairs (the caller
    intersects); each runs on the unique key's leading columns."""
    c = EVENTS.c
    return (
        select(c.school_id, c.device_kind, c.device_id, c.message_id, func.min(c.id).label("first"))
        .where(
            c.school_id.in_(bindparam("schools", expanding=True)),
            c.device_kind.in_(bindparam("kinds", expanding=True)),
            c.device_id.in_(bindparam("devices", expanding=True)),
            c.message_id.in_(bindparam("message_ids", expanding=True)),
        )
        .group_by(c.school_id, c.device_kind, c.device_id, c.message_id)
        .having(func.count() > 1)
    )


@cache
def _insert_alarm() -> Insert:
    return insert(ALARMS).returning(*ALARMS.c)


@cache
def _insert_deliveries_statement() -> Insert:
    return insert(DELIVERIES).returning(*DELIVERIES.c)


@cache
def _open_notice_query() -> Select[Any]:
    c = NOTICES.c
    return (
        select(c.id, c.notice_id, c.window_start, c.window_end)
        .where(
            c.school_id == bindparam("school_id"),
            c.button_id == bindparam("button_id"),
            c.alarm_pk.is_(None),
            c.cancelled_at.is_(None),
            c.window_start <= bindparam("at"),
            c.window_end >= bindparam("at"),
        )
        .order_by(c.window_start, c.id)
        .limit(1)
    )


def insert_events(connection: Connection, events: Sequence[DeviceEvent]) -> dict[EventKey, int]:
    """Insert the events not stored yet; return the new rows' ids by event key.
    Copies of one message inside `events` are inserted once."""
    if not events:
        return {}
    rows: dict[EventKey, dict[str, Any]] = {}
    for event in events:
        rows.setdefault(event_key(event), _event_row(event))
    result = connection.execute(_insert_events(connection.dialect.name), list(rows.values()))
    ids = {
        (r.school_id, r.device_kind, r.device_id, r.message_id, r.content_key): r.id for r in result
    }
    # Digested from the values inserted (what the row holds), not read back: this is the
    # telemetry path, thousands of rows a second.
    stored = ({**rows[key], "id": event_id} for key, event_id in ids.items())
    journal_rows(connection, EVENTS, stored, action=EntryAction.INSERT)
    return ids


def reused_ids(connection: Connection, new: dict[EventKey, int]) -> set[EventKey]:
    """Of the messages just stored, those whose id the device had already used for another
    message (`id_reused`): the first message under an id is not, those after it are. An id
    the gateway derived from the content (`h:`) cannot be."""
    named = [key for key in new if not key[3].startswith("h:")]
    if not named:
        return set()
    found = connection.execute(
        _ids_stored_twice(),
        {
            "schools": sorted({key[0] for key in named}),
            "kinds": sorted({key[1] for key in named}),
            "devices": sorted({key[2] for key in named}),
            "message_ids": sorted({key[3] for key in named}),
        },
    )
    first = {(r.school_id, r.device_kind, r.device_id, r.message_id): r.first for r in found}
    return {key for key in named if new[key] > first.get(key[:4], new[key])}


def insert_pictures(
    connection: Connection, events: Sequence[DeviceEvent], ids: dict[EventKey, int]
) -> None:
    """Keep the snapshots of newly stored events, beside them, in the same transaction."""
    rows = [
        {
            "event_id": ids[event_key(event)],
            "camera_id": event.picture.camera_id,
            "taken_at": event.picture.taken_at,
            "content_type": event.picture.content_type,
            "data": event.picture.data,
        }
        for event in events
        if event.picture is not None and event_key(event) in ids
    ]
    if rows:
        stored = connection.execute(insert(SNAPSHOTS).returning(*SNAPSHOTS.c), rows).all()
        journal_rows(connection, SNAPSHOTS, stored, action=EntryAction.INSERT)


def _event_row(event: DeviceEvent) -> dict[str, Any]:
    return {
        "school_id": event.device.school_id,
        "device_kind": event.device.kind.value,
        "device_id": event.device.device_id,
        "message_id": event.message_id,
        "content_key": event.content_key,
        "kind": event.kind.value,
        "transport": event.transport.value,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "clock_skew_s": (event.received_at - event.occurred_at).total_seconds(),
        "topic": event.topic,
        "raw_payload": event.raw_payload,
        "guard_id": event.guard_id,
        "tag": event.tag,
    }


def create_alarm(
    connection: Connection,
    *,
    event_id: int,
    event: DeviceEvent,
    school: School,
    button: AlarmButton,
    endpoint_ids: Sequence[str],
) -> tuple[Alarm, list[PoliceDelivery]]:
    """Store an alarm and one delivery per police endpoint. The returned objects carry the
    stored values; they are not attached to any session."""
    kind = ALARM_KIND_OF_EVENT[event.kind]
    notice = None
    if kind in (AlarmKind.EMERGENCY, AlarmKind.TEST):
        notice = _open_notice(connection, school.id, button.id, event.occurred_at)
    if notice is not None:
        kind = AlarmKind.TEST  # announced in advance: the police know not to dispatch
    values = {
        "alarm_id": new_alarm_id(event.received_at),
        "event_id": event_id,
        "kind": kind.value,
        "school_id": school.id,
        "school_name": school.name,
        "device_id": button.id,
        "location": button.location,
        "zone": button.zone,
        "camera_id": button.camera,
        "source_id": event.message_id,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "notice_id": None if notice is None else notice.notice_id,
        "notice_window_start": None if notice is None else notice.window_start,
        "notice_window_end": None if notice is None else notice.window_end,
    }
    stored = connection.execute(_insert_alarm(), values).one()
    journal_rows(connection, ALARMS, [stored], action=EntryAction.INSERT)
    alarm_pk = stored.id
    if notice is not None:
        answered = connection.execute(
            update(NOTICES)
            .where(NOTICES.c.id == notice.id)
            .values(alarm_pk=alarm_pk)
            .returning(*NOTICES.c)
        ).all()
        journal_rows(connection, NOTICES, answered, action=EntryAction.UPDATE)
    alarm = Alarm(id=alarm_pk, **values)
    if not endpoint_ids:
        return alarm, []
    rows = [
        {
            "alarm_pk": alarm_pk,
            "endpoint_id": endpoint_id,
            "lane": lane_of(alarm),
            "attempts": 0,
            "created_at": event.received_at,
            "next_attempt_at": event.received_at,
        }
        for endpoint_id in endpoint_ids
    ]
    return alarm, insert_deliveries(connection, rows)


def insert_deliveries(connection: Connection, rows: list[dict[str, Any]]) -> list[PoliceDelivery]:
    claim_new(connection, rows)  # scale-out: the storing instance takes them if it may
    stored = connection.execute(_insert_deliveries_statement(), rows).all()
    journal_rows(connection, DELIVERIES, stored, action=EntryAction.INSERT)
    ids = {delivery.endpoint_id: delivery.id for delivery in stored}
    return [PoliceDelivery(id=ids[row["endpoint_id"]], **row) for row in rows]


def _open_notice(connection: Connection, school_id: str, button_id: str, at: datetime) -> Any:
    """The earliest notice of this button whose window holds `at`, not yet answered nor
    cancelled: the press is the announced test."""
    return connection.execute(
        _open_notice_query(), {"school_id": school_id, "button_id": button_id, "at": at}
    ).first()


@cache
def _device_status_query() -> Select[Any]:
    c = DEVICES.c
    return select(c.id, c.online).where(
        c.school_id == bindparam("school_id"),
        c.kind == bindparam("kind"),
        c.device_id == bindparam("device_id"),
    )


@cache
def _device_seen(changed: bool) -> Update:
    c = DEVICES.c
    values: dict[str, Any] = {"last_seen_at": bindparam("at")}
    if changed:
        values.update(online=bindparam("online"), status_changed_at=bindparam("at"))
    return update(DEVICES).where(c.id == bindparam("device_pk")).values(values)


def set_device_online(
    connection: Connection, ref: DeviceRef, *, online: bool, at: datetime
) -> bool:
    """Record a status; return True when it changed."""
    current = connection.execute(
        _device_status_query(),
        {"school_id": ref.school_id, "kind": ref.kind.value, "device_id": ref.device_id},
    ).first()
    if current is None:
        connection.execute(
            insert(DEVICES).values(
                school_id=ref.school_id,
                kind=ref.kind.value,
                device_id=ref.device_id,
                online=online,
                status_changed_at=at,
                last_seen_at=at,
            )
        )
        return True
    changed = current.online is not online
    # Only the statement's own parameters: a column's name among them would be SET as well.
    parameters: dict[str, Any] = {"device_pk": current.id, "at": at}
    if changed:
        parameters["online"] = online
    connection.execute(_device_seen(changed), parameters)
    return changed


def count_online(connection: Connection) -> int:
    result = connection.execute(
        select(func.count()).select_from(DEVICES).where(DEVICES.c.online.is_(True))
    )
    return int(result.scalar_one())
