"""Storing ingested events; a (device, message id) already stored is dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import DeviceEvent
from gateway.storage.models import Event

EventKey = tuple[str, str, str, str]


def event_key(event: DeviceEvent) -> EventKey:
    ref = event.device
    return (ref.school_id, ref.kind.value, ref.device_id, event.message_id)


def _insert_ignoring_duplicates(session: AsyncSession) -> Insert:
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(Event).on_conflict_do_nothing(constraint="uq_events_message")
    return sqlite.insert(Event).on_conflict_do_nothing()


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def insert_new(self, events: Sequence[DeviceEvent]) -> dict[EventKey, int]:
        """Insert the events not stored yet; return the new rows' ids by event key.

        Duplicates inside `events` itself are inserted once."""
        if not events:
            return {}
        rows: dict[EventKey, dict[str, Any]] = {}
        for event in events:
            rows.setdefault(event_key(event), _row(event))
        statement = _insert_ignoring_duplicates(self.session).returning(
            Event.id, Event.school_id, Event.device_kind, Event.device_id, Event.message_id
        )
        result = await self.session.execute(statement, list(rows.values()))
        return {(r.school_id, r.device_kind, r.device_id, r.message_id): r.id for r in result}


def _row(event: DeviceEvent) -> dict[str, Any]:
    return {
        "school_id": event.device.school_id,
        "device_kind": event.device.kind.value,
        "device_id": event.device.device_id,
        "message_id": event.message_id,
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
