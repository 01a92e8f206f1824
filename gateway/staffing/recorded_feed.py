"""Scale-out: the gate watch of every instance follows the staffing reports in the record, not
only those this instance stored. With a shared subscription each instance receives a share of
the gate sensors' reports (and a guard checks in through whichever instance answers), so the
leader, which raises the alerts, would otherwise judge a post on part of its reports, and the
others would show a part on /api/v1/gates.

Every second the reports with an id above a watermark are read; the watermark trails by
TRAIL_S (PostgreSQL hands out ids before commit, so a lower id can appear a moment after
a higher one), and reports already taken are skipped by id. Instances that do not lead also
read which gate alerts are active, every few seconds, for the view."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Callable
from typing import cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.alerts import latest_alert_kinds
from gateway.compliance.gate_staffing import StaffingReport
from gateway.domain import DeviceKind
from gateway.health import HealthBoard
from gateway.staffing.queries import SOURCES, STAFFING_KINDS, GateKey, report_of
from gateway.staffing.watch import GateWatch
from gateway.storage.models import Event
from gateway.storage.retry import with_database

log = logging.getLogger("gateway.staffing")
EVENTS = cast(Table, Event.__table__)
FOLLOW_S = 1.0
TRAIL_S = 5.0  # how far the watermark trails: far longer than a write transaction
ALERT_FLAGS_S = 5.0


class RecordedGateFeed:
    def __init__(
        self,
        watch: GateWatch,
        sessions: async_sessionmaker[AsyncSession],
        health: HealthBoard,
        *,
        is_leader: Callable[[], bool],
    ) -> None:
        self._watch = watch
        self._sessions = sessions
        self._health = health
        self._is_leader = is_leader
        self._seen: set[int] = set()
        # (loop time, highest id read then): the watermark is the newest one older than
        # TRAIL_S, so every id above it is read again until then.
        self._marks: deque[tuple[float, int]] = deque()
        self._watermark = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()

        async def start() -> None:
            async with self._sessions() as session:
                # Taken before the load: what commits meanwhile is read again, not missed.
                self._watermark = int(
                    (
                        await session.execute(select(func.coalesce(func.max(EVENTS.c.id), 0)))
                    ).scalar_one()
                )
                await self._watch.load(session)

        await with_database(start, self._health)
        flags_at = loop.time()
        while True:
            await asyncio.sleep(FOLLOW_S)
            flags = not self._is_leader() and loop.time() >= flags_at
            try:
                await self._follow(loop.time(), flags)
            except Exception as exc:  # the database is away: the next round reads it all
                log.debug("gate reports not followed this round: %s", exc)
                continue
            if flags:
                flags_at = loop.time() + ALERT_FLAGS_S

    async def _follow(self, now: float, with_flags: bool) -> None:
        c = EVENTS.c
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        c.id,
                        c.school_id,
                        c.device_id,
                        c.transport,
                        c.kind,
                        c.occurred_at,
                        c.guard_id,
                    )
                    .where(
                        c.id > self._watermark,
                        c.device_kind == DeviceKind.GATE.value,
                        c.kind.in_(STAFFING_KINDS),
                    )
                    .order_by(c.id)
                )
            ).all()
            kinds = await latest_alert_kinds(session, DeviceKind.GATE.value) if with_flags else None
        reports: dict[GateKey, list[StaffingReport]] = defaultdict(list)
        for row in rows:
            if row.id in self._seen or row.transport not in SOURCES:
                continue
            self._seen.add(row.id)
            reports[(row.school_id, row.device_id)].append(report_of(row))
        self._watch.take_recorded(reports, kinds)
        self._advance(now, max((row.id for row in rows), default=self._watermark))

    def _advance(self, now: float, highest: int) -> None:
        self._marks.append((now, highest))
        while self._marks and self._marks[0][0] <= now - TRAIL_S:
            _, mark = self._marks.popleft()
            self._watermark = max(self._watermark, mark)
        self._seen = {i for i in self._seen if i > self._watermark}
