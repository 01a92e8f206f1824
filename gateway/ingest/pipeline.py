"""Ingest: decode a batch of MQTT messages, store it in one transaction, then acknowledge
it to the broker and hand new alarms to the police outbox.

Nothing is acknowledged before it is stored, so the broker keeps what a crash interrupts."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError

from drivers.mqtt.subscriber import InboundMessage
from gateway.context import GatewayContext
from gateway.domain import ACTIONABLE_KINDS, SIGNAL_EVENTS, DeviceEvent, DeviceKind
from gateway.errors import PayloadRejected
from gateway.ingest.decode import SiteDirectory, StatusChange, decode_message
from gateway.linkage.outbox import PendingDelivery, PoliceOutbox, pending_delivery
from gateway.patrol.reasons import ScanSource
from gateway.patrol.records import ScanOutcome, record_scans
from gateway.patrol.scans import IncomingScan
from gateway.storage.models import Alarm, PoliceDelivery
from gateway.storage.writes import (
    EventKey,
    count_online,
    create_alarm,
    event_key,
    insert_events,
    insert_pictures,
    set_device_online,
)

log = logging.getLogger("gateway.ingest")

Ack = Callable[[InboundMessage], None]
# Told of the events just stored (after commit), e.g. the live gate-staffing watch.
StoredListener = Callable[[Sequence[DeviceEvent]], None]
NewAlarm = tuple[Alarm, list[PoliceDelivery]]
Stored = tuple[list[DeviceEvent], list[PendingDelivery], bool]
DB_RETRY_INITIAL_S = 0.2
DB_RETRY_MAX_S = 5.0


class RejectionLog:
    """Logs rejected messages with their reason, at most `per_minute` lines per reason."""

    def __init__(self, per_minute: int = 20) -> None:
        self._per_minute = per_minute
        self._window: dict[str, tuple[float, int]] = {}

    def log(self, topic: str, rejection: PayloadRejected) -> None:
        now = time.monotonic()
        start, count = self._window.get(rejection.reason, (now, 0))
        if now - start > 60:
            start, count = now, 0
        count += 1
        self._window[rejection.reason] = (start, count)
        if count <= self._per_minute:
            log.warning("rejected %s (%s): %s", topic[:200], rejection.reason, rejection.detail)
        elif count == self._per_minute + 1:
            log.warning("more %s rejections this minute are counted, not logged", rejection.reason)


def reader_scans(events: Sequence[DeviceEvent], ids: dict[EventKey, int]) -> list[IncomingScan]:
    """The patrol scans among newly stored events from checkpoint readers."""
    return [
        IncomingScan(
            school_id=event.device.school_id,
            guard_id=event.guard_id,
            tag=event.tag,
            scanned_at=event.occurred_at,
            received_at=event.received_at,
            source=ScanSource.READER,
            message_id=event.message_id,
            reader_checkpoint=event.device.device_id,
            event_id=ids[event_key(event)],
        )
        for event in events
        if event.device.kind is DeviceKind.CHECKPOINT
        and event.guard_id is not None
        and event.tag is not None
    ]


def _first_of_each(events: Sequence[DeviceEvent], stored: dict[EventKey, int]) -> list[DeviceEvent]:
    """The events just stored, each once (a batch may hold copies of one message)."""
    seen: set[EventKey] = set()
    result = []
    for event in events:
        key = event_key(event)
        if key in stored and key not in seen:
            seen.add(key)
            result.append(event)
    return result


@dataclass(slots=True)
class DecodedBatch:
    events: list[DeviceEvent] = field(default_factory=list)
    statuses: list[StatusChange] = field(default_factory=list)


class IngestPipeline:
    def __init__(
        self,
        context: GatewayContext,
        directory: SiteDirectory,
        outbox: PoliceOutbox,
        rejections: RejectionLog,
        *,
        skip: Callable[[str], bool] = lambda topic: False,
        listeners: Sequence[StoredListener] = (),
    ) -> None:
        self._context = context
        self._directory = directory
        self._outbox = outbox
        self._rejections = rejections
        self._skip = skip
        self._listeners = tuple(listeners)

    async def handle(self, batch: Sequence[InboundMessage], ack: Ack) -> None:
        decoded = DecodedBatch()
        for message in batch:
            if self._skip(message.topic):
                continue
            try:
                item = decode_message(
                    self._directory, message.topic, message.payload, message.received_at
                )
            except PayloadRejected as rejection:
                self._context.metrics.events_rejected.labels(rejection.reason).inc()
                self._rejections.log(message.topic, rejection)
                continue
            if isinstance(item, StatusChange):
                decoded.statuses.append(item)
            else:
                decoded.events.append(item)
        new_events, deliveries, status_changed = await self._store(decoded)
        for message in batch:
            ack(message)
        self._after_commit(decoded, new_events, deliveries, status_changed)

    async def submit(
        self, events: Sequence[DeviceEvent], statuses: Sequence[StatusChange] = ()
    ) -> list[DeviceEvent]:
        """Store events decoded elsewhere (Modbus, camera): returns once they are committed,
        with the ones that were new (not duplicates)."""
        decoded = DecodedBatch(list(events), list(statuses))
        new_events, deliveries, status_changed = await self._store(decoded)
        self._after_commit(decoded, new_events, deliveries, status_changed)
        return new_events

    async def _store(self, decoded: DecodedBatch) -> Stored:
        """Store a batch; a record the database refuses (not a passing fault) is set aside
        alone, with a reason, so that it cannot block the others forever."""
        if not decoded.events and not decoded.statuses:
            return [], [], False
        try:
            return await self._store_retrying(decoded)
        except (IntegrityError, DataError) as exc:
            if len(decoded.events) + len(decoded.statuses) == 1:
                # Kept in the log, whole, so that it can be replayed once the cause is fixed.
                what = (
                    f"{decoded.events[0].topic} {decoded.events[0].raw_payload!r}"
                    if decoded.events
                    else f"status of {decoded.statuses[0].device}"
                )
                self._context.metrics.events_rejected.labels("storage_refused").inc()
                log.error("the database refused %s: %s", what, exc.orig)
                return [], [], False
        stored: Stored = ([], [], False)
        singles = [DecodedBatch(events=[e]) for e in decoded.events] + [
            DecodedBatch(statuses=[s]) for s in decoded.statuses
        ]
        for single in singles:
            events, deliveries, changed = await self._store(single)
            stored = (stored[0] + events, stored[1] + deliveries, stored[2] or changed)
        return stored

    async def _store_retrying(self, decoded: DecodedBatch) -> Stored:
        delay = DB_RETRY_INITIAL_S
        while True:
            try:
                result = await self._store_once(decoded)
            except (IntegrityError, DataError):
                raise
            except Exception as exc:  # whatever else the database driver raised: keep the batch
                self._context.health.report(
                    "database", up=False, detail=f"{type(exc).__name__}: {exc}"
                )
                await asyncio.sleep(delay)
                delay = min(DB_RETRY_MAX_S, delay * 2)
                continue
            self._context.health.report("database", up=True, detail="writing")
            return result

    async def _store_once(self, decoded: DecodedBatch) -> Stored:
        settings = self._context.settings
        endpoint_ids = self._outbox.endpoint_ids
        signal_endpoint_ids = self._outbox.signal_endpoint_ids
        scans: list[ScanOutcome] = []

        def store(
            connection: Connection,
        ) -> tuple[list[DeviceEvent], list[tuple[Alarm, list[PoliceDelivery]]], int | None]:
            scans.clear()  # a retried transaction starts again
            ids = insert_events(connection, decoded.events)
            new_events = _first_of_each(decoded.events, ids)
            insert_pictures(connection, new_events, ids)
            # A reader's scan is checked and kept with its event, in the same transaction.
            scans.extend(record_scans(connection, settings, reader_scans(new_events, ids)))
            alarms = []
            for event in new_events:
                if event.is_alarm:
                    targets = endpoint_ids
                elif event.kind in SIGNAL_EVENTS and event.device.kind is DeviceKind.ALARM:
                    targets = signal_endpoint_ids
                    if not targets:
                        continue  # no receiver takes restore/tamper: nothing to forward
                else:
                    continue
                school = settings.school(event.device.school_id)
                button = school.button(event.device.device_id) if school else None
                if school is None or button is None:
                    continue  # the directory only passes configured devices
                alarms.append(
                    create_alarm(
                        connection,
                        event_id=ids[event_key(event)],
                        event=event,
                        school=school,
                        button=button,
                        endpoint_ids=targets,
                    )
                )
            changed = False
            for status in decoded.statuses:
                changed |= set_device_online(
                    connection, status.device, online=status.online, at=status.received_at
                )
            online = count_online(connection) if changed else None
            return new_events, alarms, online

        urgent = any(event.is_alarm for event in decoded.events)
        new_events, alarms, online = await self._context.writer.run(store, urgent=urgent)
        for outcome in scans:
            verdict = outcome.verdict.reason or "accepted"
            self._context.metrics.patrol_scans.labels(outcome.scan.source.value, verdict).inc()
        deliveries = [
            pending_delivery(row, alarm, settings) for alarm, rows in alarms for row in rows
        ]
        if online is not None:
            self._context.metrics.devices_online.set(online)
        return new_events, deliveries, online is not None

    def _after_commit(
        self,
        decoded: DecodedBatch,
        new_events: list[DeviceEvent],
        deliveries: list[PendingDelivery],
        status_changed: bool,
    ) -> None:
        metrics = self._context.metrics
        alarms = {
            d.alarm.alarm_id: d.source
            for d in deliveries
            if d.source is not None and d.source.kind in ACTIONABLE_KINDS
        }
        self._outbox.submit(deliveries, list(alarms.values()))
        if len(decoded.events) > len(new_events):
            duplicates = Counter(e.transport.value for e in decoded.events)
            duplicates.subtract(e.transport.value for e in new_events)
            for transport, count in duplicates.items():
                if count > 0:
                    metrics.events_duplicate.labels(transport).inc(count)
        ingested = Counter((e.kind.value, e.transport.value) for e in new_events)
        for (kind, transport), count in ingested.items():
            metrics.events_ingested.labels(kind, transport).inc(count)
        for event in new_events:
            if event.is_alarm:
                log.warning(
                    "ALARM %s from %s/%s (%s)",
                    event.kind,
                    event.device.school_id,
                    event.device.device_id,
                    event.message_id,
                )
        if new_events:
            for listener in self._listeners:
                listener(new_events)
        if self._context.bus.listened:
            self._publish(decoded, new_events, status_changed)

    def _publish(
        self, decoded: DecodedBatch, new_events: list[DeviceEvent], status_changed: bool
    ) -> None:
        for event in new_events:
            if event.is_alarm:
                self._context.bus.publish(
                    "alarm",
                    {
                        "school_id": event.device.school_id,
                        "device_id": event.device.device_id,
                        "kind": event.kind.value,
                    },
                )
            self._context.bus.publish(
                "event",
                {
                    "school_id": event.device.school_id,
                    "device_kind": event.device.kind.value,
                    "device_id": event.device.device_id,
                    "kind": event.kind.value,
                    "occurred_at": event.occurred_at.isoformat(),
                },
            )
        if status_changed:
            for status in decoded.statuses:
                self._context.bus.publish(
                    "device",
                    {
                        "school_id": status.device.school_id,
                        "device_kind": status.device.kind.value,
                        "device_id": status.device.device_id,
                        "online": status.online,
                    },
                )
