"""The police outbox: every stored alarm goes to every endpoint until acknowledged.

The database is the truth (a restart resumes from it); each endpoint has its own worker, so
one that is down never delays another. Inside an endpoint, deliveries of one button go out in
order (a lane); lanes are independent, so one stuck alarm does not hold up other buttons."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections import deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.bus import EventBus
from gateway.errors import DeliveryFailed
from gateway.health import HealthBoard
from gateway.linkage.backoff import retry_delay
from gateway.linkage.payload import webhook_body
from gateway.linkage.senders import AlarmSender, OutgoingAlarm
from gateway.linkage.snapshots import AlarmSnapshots, SnapshotOutcome
from gateway.metrics import GatewayMetrics
from gateway.settings import RetryPolicy, Settings
from gateway.storage.delivery_outcomes import record_acknowledged, record_failure
from gateway.storage.models import Alarm, PoliceDelivery
from gateway.storage.outbox import OutboxRepository
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.outbox")

Clock = Callable[[], datetime]
MAX_PARALLEL_LANES = 32
DB_RETRY_S = 1.0


@dataclass(slots=True, eq=False)
class PendingDelivery:
    """A delivery waiting in a lane; `next_attempt_at` is mutable scheduling state."""

    delivery_id: int
    endpoint_id: str
    lane: str
    alarm: OutgoingAlarm
    received_at: datetime
    next_attempt_at: datetime
    attempts: int
    source: Alarm | None = None  # the stored alarm, to rebuild the body with a picture
    picture: asyncio.Future[SnapshotOutcome] | None = None
    with_picture: bool = False
    # Scale-out: the instance holding its lease when stored (None: unclaimed, or one gateway).
    claimed_by: str | None = None
    lost: bool = False  # its lease went to another instance: drop it after the attempt


def pending_delivery(delivery: PoliceDelivery, alarm: Alarm, settings: Settings) -> PendingDelivery:
    return PendingDelivery(
        delivery_id=delivery.id,
        endpoint_id=delivery.endpoint_id,
        lane=delivery.lane,
        alarm=OutgoingAlarm(
            alarm.alarm_id,
            alarm.kind,
            webhook_body(alarm, settings),
            zone=alarm.zone,
            occurred_at=alarm.occurred_at,
        ),
        received_at=alarm.received_at,
        next_attempt_at=delivery.next_attempt_at,
        attempts=delivery.attempts,
        source=alarm,
        claimed_by=delivery.claimed_by,
    )


class EndpointWorker:
    def __init__(
        self,
        sender: AlarmSender,
        retry: RetryPolicy,
        writer: DatabaseWriter,
        metrics: GatewayMetrics,
        health: HealthBoard,
        clock: Clock,
        rng: random.Random,
        settings: Settings,
    ) -> None:
        self.sender = sender
        self._settings = settings
        self._snapshot_wait_s = settings.linkage.snapshot_wait_s
        self._writer = writer
        self.endpoint_id = sender.endpoint_id
        self._retry = retry
        self._metrics = metrics
        self._health = health
        self._clock = clock
        self._rng = rng
        self._lanes: dict[str, deque[PendingDelivery]] = {}
        self._known: set[int] = set()
        self._in_flight: set[str] = set()
        self._wake = asyncio.Event()
        self._slots = asyncio.Semaphore(MAX_PARALLEL_LANES)
        self._failing = False

    @property
    def pending(self) -> int:
        return len(self._known)

    @property
    def known_ids(self) -> frozenset[int]:
        return frozenset(self._known)

    def enqueue(self, delivery: PendingDelivery) -> None:
        if delivery.delivery_id in self._known:
            return
        self._known.add(delivery.delivery_id)
        queue = self._lanes.setdefault(delivery.lane, deque())
        # In id order (a lane taken over from another instance may bring older ones), but
        # never ahead of the one in flight.
        position, floor = len(queue), 1 if delivery.lane in self._in_flight else 0
        while position > floor and queue[position - 1].delivery_id > delivery.delivery_id:
            position -= 1
        queue.insert(position, delivery)
        self._update_gauge()
        self._wake.set()

    def drop(self, ids: Collection[int]) -> None:
        """Stop working on these (scale-out: their leases went to another instance). One in
        flight finishes its attempt first, and its outcome is recorded."""
        for lane, queue in list(self._lanes.items()):
            for delivery in [d for d in queue if d.delivery_id in ids]:
                if lane in self._in_flight and queue[0] is delivery:
                    delivery.lost = True
                else:
                    self._forget(delivery)

    def _forget(self, delivery: PendingDelivery) -> None:
        queue = self._lanes.get(delivery.lane)
        if queue is not None and delivery in queue:
            queue.remove(delivery)
            if not queue:
                del self._lanes[delivery.lane]
        self._known.discard(delivery.delivery_id)
        self._update_gauge()

    def load(self, deliveries: Sequence[PendingDelivery]) -> None:
        for delivery in deliveries:
            self.enqueue(delivery)

    async def run(self) -> None:
        self._health.report(f"police:{self.endpoint_id}", up=True, detail="no failures yet")
        async with asyncio.TaskGroup() as attempts:
            while True:
                self._wake.clear()
                now = self._clock()
                earliest: datetime | None = None
                for lane, queue in self._lanes.items():
                    if lane in self._in_flight or not queue:
                        continue
                    head = queue[0]
                    if head.next_attempt_at <= now:
                        self._in_flight.add(lane)
                        attempts.create_task(
                            self._attempt(head), name=f"police:{self.endpoint_id}:{lane}"
                        )
                    elif earliest is None or head.next_attempt_at < earliest:
                        earliest = head.next_attempt_at
                timeout = None if earliest is None else max(0.0, (earliest - now).total_seconds())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)

    async def _attempt(self, delivery: PendingDelivery) -> None:
        try:
            async with self._slots:
                await self._attempt_once(delivery)
        finally:
            self._in_flight.discard(delivery.lane)
            if delivery.lost:
                self._forget(delivery)
            self._wake.set()

    async def _with_picture(self, delivery: PendingDelivery) -> None:
        """The first attempt waits for the camera at most `snapshot_wait_s` after the press;
        later attempts take the picture if it has come meanwhile."""
        future = delivery.picture
        if future is None or delivery.with_picture or delivery.source is None:
            return
        if not future.done() and delivery.attempts == 0:
            waited = (self._clock() - delivery.received_at).total_seconds()
            remaining = self._snapshot_wait_s - waited
            if remaining > 0:
                await asyncio.wait({future}, timeout=remaining)
        if future.done() and (picture := future.result().picture) is not None:
            body = webhook_body(delivery.source, self._settings, picture)
            delivery.alarm = dataclasses.replace(delivery.alarm, body=body)
            delivery.with_picture = True

    async def _attempt_once(self, delivery: PendingDelivery) -> None:
        await self._with_picture(delivery)
        try:
            receipt = await self.sender.send(delivery.alarm)
        except DeliveryFailed as exc:
            await self._failed(delivery, exc)
            return
        at = self._clock()
        latency = (at - delivery.received_at).total_seconds()
        try:
            await self._writer.run(
                partial(
                    record_acknowledged,
                    delivery_id=delivery.delivery_id,
                    at=at,
                    latency_s=latency,
                    status=receipt.status,
                    response=receipt.response,
                )
            )
        except Exception as exc:  # the database, whatever the driver raised
            # Acknowledged but not recorded: send again later (the Idempotency-Key makes the
            # repeat harmless) rather than claim a delivery the record does not show.
            log.error(
                "police %s: acknowledgement of %s not recorded: %s",
                self.endpoint_id,
                delivery.alarm.alarm_id,
                exc,
            )
            delivery.next_attempt_at = self._clock() + timedelta(seconds=DB_RETRY_S)
            return
        self._forget(delivery)
        self._metrics.alarms_forwarded.labels(self.endpoint_id, delivery.alarm.kind).inc()
        self._metrics.alarm_forward_seconds.labels(self.endpoint_id).observe(latency)
        if self._failing:
            self._failing = False
        self._health.report(f"police:{self.endpoint_id}", up=True, detail="acknowledging")
        log.info(
            "police %s acknowledged %s %s after %d attempt(s), %.3fs",
            self.endpoint_id,
            delivery.alarm.kind,
            delivery.alarm.alarm_id,
            delivery.attempts + 1,
            latency,
        )

    async def _failed(self, delivery: PendingDelivery, exc: DeliveryFailed) -> None:
        delivery.attempts += 1
        delay = retry_delay(delivery.attempts, self._retry, self._rng)
        at = self._clock()
        delivery.next_attempt_at = at + timedelta(seconds=delay)
        self._metrics.forward_attempts_failed.labels(self.endpoint_id).inc()
        self._failing = True
        self._health.report(f"police:{self.endpoint_id}", up=False, detail=exc.detail)
        log.debug(
            "police %s: %s attempt %d failed (%s), next in %.1fs",
            self.endpoint_id,
            delivery.alarm.alarm_id,
            delivery.attempts,
            exc.detail,
            delay,
        )
        try:
            await self._writer.run(
                partial(
                    record_failure,
                    delivery_id=delivery.delivery_id,
                    at=at,
                    next_attempt_at=delivery.next_attempt_at,
                    status=exc.status,
                    response=exc.detail,
                )
            )
        except Exception as db_exc:  # the attempt count is advisory; the alarm stays pending
            log.warning("police %s: failed attempt not recorded: %s", self.endpoint_id, db_exc)

    def _update_gauge(self) -> None:
        self._metrics.outbox_pending.labels(self.endpoint_id).set(len(self._known))


class PoliceOutbox:
    """One worker per endpoint. `submit` hands freshly stored deliveries straight to them;
    `resume` reloads whatever a previous process left unacknowledged: call it before any
    new alarm is submitted, so that older deliveries keep their place in their lane.

    Scale-out (`holder_id` set): only the deliveries this instance claimed are worked on
    here; `gateway.linkage.lease_keeper` resumes, renews and takes over the others."""

    def __init__(
        self,
        settings: Settings,
        senders: Sequence[AlarmSender],
        sessions: async_sessionmaker[AsyncSession],
        writer: DatabaseWriter,
        metrics: GatewayMetrics,
        health: HealthBoard,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        bus: EventBus | None = None,
        holder_id: str | None = None,
    ) -> None:
        self._settings = settings
        self.holder_id = holder_id
        self._sessions = sessions
        self._secondary = frozenset(e.id for e in settings.police if e.secondary)
        self._dc09 = frozenset(e.id for e in settings.police if e.kind == "sia-dc09")
        retry = {endpoint.id: endpoint.retry for endpoint in settings.police}
        self.workers = {
            sender.endpoint_id: EndpointWorker(
                sender,
                retry[sender.endpoint_id],
                writer,
                metrics,
                health,
                clock or (lambda: datetime.now(UTC)),
                rng or random.Random(),
                settings,
            )
            for sender in senders
        }
        self.snapshots = AlarmSnapshots(settings, writer, health, bus or EventBus())

    @property
    def endpoint_ids(self) -> list[str]:
        """The endpoints every alarm goes to at once (the secondary ones wait for escalation)."""
        return [e for e in self.workers if e not in self._secondary]

    @property
    def signal_endpoint_ids(self) -> list[str]:
        """The endpoints that also take a button's restore and tamper: SIA DC-09 receivers."""
        return [e for e in self.endpoint_ids if e in self._dc09]

    @property
    def secondary_ids(self) -> list[str]:
        return [e for e in self.workers if e in self._secondary]

    def submit(self, deliveries: Sequence[PendingDelivery], alarms: Sequence[Alarm] = ()) -> None:
        """Hand freshly stored deliveries to their workers; `alarms`, the new alarms they
        belong to, get a picture from their button's camera."""
        pictures = {a.alarm_id: self.snapshots.request(a) for a in alarms}
        for delivery in deliveries:
            if self.holder_id is not None and delivery.claimed_by != self.holder_id:
                continue  # stored behind another instance's lease: its holder takes it in order
            delivery.picture = pictures.get(delivery.alarm.alarm_id)
            worker = self.workers.get(delivery.endpoint_id)
            if worker is not None:
                worker.enqueue(delivery)

    async def resume(self) -> int:
        """Load every unacknowledged delivery from the database; return how many."""
        total = 0
        async with self._sessions() as session:
            repository = OutboxRepository(session)
            for endpoint_id, worker in self.workers.items():
                rows = await repository.pending(endpoint_id)
                worker.load([pending_delivery(d, a, self._settings) for d, a in rows])
                total += len(rows)
        if total:
            log.warning("resuming %d unacknowledged police deliveries", total)
        return total

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.snapshots.run(), name="alarm-snapshots")
            for endpoint_id, worker in self.workers.items():
                group.create_task(worker.run(), name=f"outbox:{endpoint_id}")

    async def aclose(self) -> None:
        for worker in self.workers.values():
            await worker.sender.aclose()
