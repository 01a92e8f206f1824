"""Scale-out: the police outbox's leases (gateway/storage/leases.py) on one instance. At start
it takes the lanes nobody else holds (its own from before a restart included); then, every
second, it takes lanes left free (a dead instance's, once its leases ran out, and deliveries
other instances stored behind its own), and it renews its leases well before they expire.
A delivery whose lease went elsewhere is dropped from the worker: it is somebody else's now.

A delivery may still be attempted twice: an instance paused past its lease (or killed after
the centre answered, before the record) is followed by the one that took over. The webhook's
`Idempotency-Key` (the alarm id) and DC-09's reused sequence number make the repeat harmless."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from gateway.health import HealthBoard
from gateway.linkage.outbox import PoliceOutbox, pending_delivery
from gateway.settings import Settings
from gateway.storage.leases import LeaseHolder, TakeOver, release, renew, take_over
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.outbox")
SWEEP_S = 1.0  # how often free lanes are looked for
RENEW_FRACTION = 3  # leases are renewed every lease_s / 3: two renewals may fail in a row
RELEASE_TIMEOUT_S = 2.0


class LeaseKeeper:
    def __init__(
        self,
        outbox: PoliceOutbox,
        holder: LeaseHolder,
        writer: DatabaseWriter,
        settings: Settings,
        health: HealthBoard,
    ) -> None:
        self._outbox = outbox
        self._holder = holder
        self._writer = writer
        self._settings = settings
        self._health = health
        self._failing = False

    async def resume(self) -> int:
        """Take every lane nobody else holds live, this instance's own from before a
        restart included; return how many deliveries. Call before any new alarm is
        submitted, as `PoliceOutbox.resume`."""
        total = await self._take(include_own=True)
        if total:
            log.warning(
                "resuming %d unacknowledged police deliveries (as %s)",
                total,
                self._holder.instance_id,
            )
        return total

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        renew_every = self._holder.lease_s / RENEW_FRACTION
        renew_at = loop.time() + renew_every
        while True:
            await asyncio.sleep(SWEEP_S)
            try:
                taken = await self._take(include_own=False)
                if taken:
                    log.info("took over %d police deliveries", taken)
                if loop.time() >= renew_at:
                    await self._renew()
                    renew_at = loop.time() + renew_every
            except Exception as exc:  # the database, whatever the driver raised: next round
                if not self._failing:
                    log.warning("outbox leases: cannot reach the database (will retry): %s", exc)
                self._failing = True
                continue
            if self._failing:
                log.info("outbox leases: the database answers again")
                self._failing = False

    async def release(self) -> None:
        """At a clean stop (best effort: a lease also runs out on its own)."""
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT_S):
                await self._writer.run(partial(release, holder=self._holder))
        except Exception as exc:  # the database, whatever the driver raised, or the timeout
            log.warning("outbox leases not released (they run out on their own): %s", exc)

    async def _take(self, *, include_own: bool) -> int:
        """Take free lanes, a page at a time, until there are no more; return how many
        deliveries came."""
        workers = self._outbox.workers
        total, after = 0, ""
        while True:
            known = frozenset().union(*(w.known_ids for w in workers.values()))
            page: TakeOver = await self._writer.run(
                partial(
                    take_over,
                    holder=self._holder,
                    endpoint_ids=list(workers),
                    known=known,
                    include_own=include_own,
                    after=after,
                )
            )
            for item in page.taken:
                worker = workers.get(item.delivery.endpoint_id)
                if worker is not None:
                    worker.enqueue(pending_delivery(item.delivery, item.alarm, self._settings))
            total += len(page.taken)
            if page.next_lane is None:
                return total
            after = page.next_lane

    async def _renew(self) -> None:
        for worker in self._outbox.workers.values():
            known = worker.known_ids
            if not known:
                continue
            held = await self._writer.run(partial(renew, holder=self._holder, ids=known))
            lost = (known - held) & worker.known_ids  # not those settled meanwhile
            if lost:
                log.warning(
                    "police %s: %d deliveries went to another instance (lease lost)",
                    worker.endpoint_id,
                    len(lost),
                )
                worker.drop(lost)
