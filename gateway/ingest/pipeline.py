"""Ingest: decode a batch of MQTT messages, store it in one transaction, then acknowledge
it to the broker and hand new alarms to the police outbox.

Nothing is acknowledged before it is stored, so the broker keeps what a crash interrupts.
A fault of the database is waited out; a message whose content the database refuses is set
apart from its batch, refused with its reason and acknowledged, so that it can never hold
back the messages behind it (another school's alarm among them)."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection

from drivers.mqtt.subscriber import InboundMessage
from gateway.context import GatewayContext
from gateway.domain import ACTIONABLE_KINDS, SIGNAL_EVENTS, DeviceEvent, DeviceKind
from gateway.errors import PayloadRejected, StorageError
from gateway.ingest.decode import SiteDirectory, StatusChange, decode_message
from gateway.ingest.rejections import RejectionLog
from gateway.linkage.outbox import PendingDelivery, PoliceOutbox, pending_delivery
from gateway.patrol.reasons import ScanSource
from gateway.patrol.records import ScanOutcome, record_scans
from gateway.patrol.scans import IncomingScan
from gateway.storage.faults import WriteFailure, classify_write_failure
from gateway.storage.models import Alarm, PoliceDelivery
from gateway.storage.writes import (
    EventKey,
    count_online,
    create_alarm,
    event_key,
    insert_events,
    insert_pictures,
    reused_ids,
    set_device_online,
)

log = logging.getLogger("gateway.ingest")

Ack = Callable[[InboundMessage], None]
# Told of the events just stored (after commit), e.g. the live gate-staffing watch.
StoredListener = Callable[[Sequence[DeviceEvent]], None]
NewAlarm = tuple[Alarm, list[PoliceDelivery]]
DB_RETRY_INITIAL_S = 0.2
DB_RETRY_MAX_S = 5.0
# A failure neither of the database nor of the content, while the database answers: tried
# this often before the one message it concerns is refused.
UNKNOWN_FAILURE_TRIES = 3
PROBE_TIMEOUT_S = 5.0


class ContentRefused(StorageError):
    """The database refused what this batch holds (not a passing fault)."""

    def __init__(self, cause: BaseException) -> None:
        self.cause = cause
        super().__init__(f"{type(cause).__name__}: {cause}")


@dataclass(slots=True)
class Stored:
    """What one store committed: the new events, their deliveries, whether a device's
    status changed, and the new events stored under a reused id."""

    events: list[DeviceEvent] = field(default_factory=list)
    deliveries: list[PendingDelivery] = field(default_factory=list)
    status_changed: bool = False
    reused: list[DeviceEvent] = field(default_factory=list)

    def add(self, other: Stored) -> None:
        self.events += other.events
        self.deliveries += other.deliveries
        self.status_changed |= other.status_changed
        self.reused += other.reused


def reader_scans(
    events: Sequence[DeviceEvent], ids: dict[EventKey, int], reused: set[EventKey]
) -> list[IncomingScan]:
    """The patrol scans among newly stored events from checkpoint readers. A scan under a
    reused id is recorded under that id and its content, apart from the earlier scan."""
    return [
        IncomingScan(
            school_id=event.device.school_id,
            guard_id=event.guard_id,
            tag=event.tag,
            scanned_at=event.occurred_at,
            received_at=event.received_at,
            source=ScanSource.READER,
            message_id=(
                f"{event.message_id[:110]}~{event.content_key}"
                if event_key(event) in reused
                else event.message_id
            ),
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
                self._refuse(message.topic, message.payload, rejection)
                continue
            if isinstance(item, StatusChange):
                decoded.statuses.append(item)
            else:
                decoded.events.append(item)
        stored = await self._store(decoded)
        for message in batch:
            ack(message)
        self._after_commit(decoded, stored)

    async def submit(
        self, events: Sequence[DeviceEvent], statuses: Sequence[StatusChange] = ()
    ) -> list[DeviceEvent]:
        """Store events decoded elsewhere (Modbus, camera, API): returns once they are
        committed, with the ones that were new (not copies of stored messages)."""
        decoded = DecodedBatch(list(events), list(statuses))
        stored = await self._store(decoded)
        self._after_commit(decoded, stored)
        return stored.events

    def _refuse(self, topic: str, payload: bytes, rejection: PayloadRejected) -> None:
        self._context.metrics.events_rejected.labels(rejection.reason).inc()
        self._rejections.log(topic, rejection, payload)

    async def _store(self, decoded: DecodedBatch) -> Stored:
        """Store a batch. If the database refuses its content, each message is stored on
        its own, so that the one it refuses is refused alone and the rest are kept."""
        if not decoded.events and not decoded.statuses:
            return Stored()
        try:
            return await self._store_retrying(decoded)
        except ContentRefused as refused:
            if len(decoded.events) + len(decoded.statuses) == 1:
                self._refuse_stored(decoded, refused)
                return Stored()
        stored = Stored()
        for event in decoded.events:
            stored.add(await self._store(DecodedBatch(events=[event])))
        for status in decoded.statuses:
            stored.add(await self._store(DecodedBatch(statuses=[status])))
        return stored

    def _refuse_stored(self, decoded: DecodedBatch, refused: ContentRefused) -> None:
        if not decoded.events:
            status = decoded.statuses[0]
            log.error("the database refused the status of %s: %s", status.device, refused)
            self._context.metrics.events_rejected.labels("storage_refused").inc()
            return
        event = decoded.events[0]
        if event.is_alarm:
            # Not forwarded: said as loudly as the log can, with the copy to send again.
            log.error(
                "ALARM NOT STORED: the database refused %s %s of %s/%s; it is not forwarded",
                event.kind,
                ascii(event.message_id),
                event.device.school_id,
                event.device.device_id,
            )
        self._refuse(
            event.topic,
            event.raw_payload.encode("utf-8", "surrogatepass"),
            PayloadRejected("storage_refused", f"the database refused it: {refused}"),
        )

    async def _store_retrying(self, decoded: DecodedBatch) -> Stored:
        """`_store_once` until it commits, waiting out the database's faults; raises
        ContentRefused when the database refuses the batch's content."""
        delay = DB_RETRY_INITIAL_S
        unknown = 0
        while True:
            try:
                result = await self._store_once(decoded)
            except Exception as exc:  # whatever the database driver raised: judged below
                failure = classify_write_failure(exc)
                if failure is WriteFailure.CONTENT:
                    raise ContentRefused(exc) from exc
                if failure is WriteFailure.UNKNOWN and await self._database_answers():
                    unknown += 1
                    if unknown >= UNKNOWN_FAILURE_TRIES:
                        raise ContentRefused(exc) from exc
                else:
                    self._context.health.report(
                        "database", up=False, detail=f"{type(exc).__name__}: {exc}"
                    )
                await asyncio.sleep(delay)
                delay = min(DB_RETRY_MAX_S, delay * 2)
                continue
            self._context.health.report("database", up=True, detail="writing")
            return result

    async def _database_answers(self) -> bool:
        """Whether the database answers a trivial query now: it tells a failure of this
        content from a database that is away."""
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self._context.writer.run(lambda c: c.execute(text("SELECT 1")).scalar())
        except Exception:  # any failure of the probe means: not answering
            return False
        return True

    async def _store_once(self, decoded: DecodedBatch) -> Stored:
        settings = self._context.settings
        endpoint_ids = self._outbox.endpoint_ids
        signal_endpoint_ids = self._outbox.signal_endpoint_ids
        scans: list[ScanOutcome] = []

        def store(
            connection: Connection,
        ) -> tuple[list[DeviceEvent], list[NewAlarm], int | None, list[DeviceEvent]]:
            scans.clear()  # a retried transaction starts again
            ids = insert_events(connection, decoded.events)
            new_events = _first_of_each(decoded.events, ids)
            reused = reused_ids(connection, ids)
            insert_pictures(connection, new_events, ids)
            # A reader's scan is checked and kept with its event, in the same transaction.
            scans.extend(record_scans(connection, settings, reader_scans(new_events, ids, reused)))
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
            reused_events = [e for e in new_events if event_key(e) in reused]
            return new_events, alarms, online, reused_events

        urgent = any(event.is_alarm for event in decoded.events)
        new_events, alarms, online, reused = await self._context.writer.run(store, urgent=urgent)
        for outcome in scans:
            verdict = outcome.verdict.reason or "accepted"
            self._context.metrics.patrol_scans.labels(outcome.scan.source.value, verdict).inc()
        deliveries = [
            pending_delivery(row, alarm, settings) for alarm, rows in alarms for row in rows
        ]
        if online is not None:
            self._context.metrics.devices_online.set(online)
        return Stored(new_events, deliveries, online is not None, reused)

    def _after_commit(self, decoded: DecodedBatch, stored: Stored) -> None:
        metrics = self._context.metrics
        new_events = stored.events
        alarms = {
            d.alarm.alarm_id: d.source
            for d in stored.deliveries
            if d.source is not None and d.source.kind in ACTIONABLE_KINDS
        }
        self._outbox.submit(stored.deliveries, list(alarms.values()))
        if len(decoded.events) > len(new_events):
            duplicates = Counter(e.transport.value for e in decoded.events)
            duplicates.subtract(e.transport.value for e in new_events)
            for transport, count in duplicates.items():
                if count > 0:
                    metrics.events_duplicate.labels(transport).inc(count)
        for event in stored.reused:
            metrics.events_id_reused.labels(event.transport.value).inc()
            log.warning(
                "%s/%s reused id %s for another message (%s at %s): stored as its own event",
                event.device.school_id,
                event.device.device_id,
                ascii(event.message_id),
                event.kind,
                event.occurred_at.isoformat(),
            )
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
            self._publish(decoded, new_events, stored.status_changed)

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
