"""Live patrol alerts: a round of a key checkpoint missed by more than `patrol.grace_s`
raises `patrol_overdue` on `{prefix}/{school}/gateway/alert`, once per round.

The watch sleeps until the next round's window closes, then judges only the rounds that just
closed, with the same rule the compliance API uses. After a restart, rounds that closed in
the last `CATCH_UP` while it was away are judged too; the ones alerted before are not again."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.compliance.gate_staffing import local_day_window
from gateway.compliance.patrols import RoundStatus, judge_patrol_day
from gateway.health import HealthBoard
from gateway.patrol.queries import as_record, rounds_of_day, scans_between
from gateway.settings import Settings
from gateway.storage.models import GatewayAlert
from gateway.storage.retry import with_database

log = logging.getLogger("gateway.patrol")

CATCH_UP = timedelta(hours=6)
MAX_SLEEP_S = 60.0
RoundKey = tuple[str, str, datetime]  # school, checkpoint, due at (UTC)


class PatrolWatch:
    def __init__(
        self,
        settings: Settings,
        alerts: AlertOutbox,
        health: HealthBoard,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._settings = settings
        self._alerts = alerts
        self._health = health
        self._clock = clock
        self._alerted: set[RoundKey] = set()
        self._judged_until: datetime | None = None

    def _closing(self, since: datetime, until: datetime) -> dict[tuple[str, date], list[RoundKey]]:
        """Rounds whose window closed in [since, until), by school and local day."""
        zone = self._settings.gateway.zone
        grace = timedelta(seconds=self._settings.patrol.grace_s)
        first = (since - grace).astimezone(zone).date() - timedelta(days=1)
        last = until.astimezone(zone).date()
        result: dict[tuple[str, date], list[RoundKey]] = defaultdict(list)
        day = first
        while day <= last:
            for due_at in rounds_of_day(self._settings, day):
                if not since <= due_at + grace < until:
                    continue
                for school in self._settings.schools:
                    for checkpoint in school.key_checkpoints:
                        key = (school.id, checkpoint.id, due_at)
                        if key not in self._alerted:
                            result[(school.id, day)].append(key)
            day += timedelta(days=1)
        return result

    def next_closing(self, after: datetime) -> datetime | None:
        zone = self._settings.gateway.zone
        grace = timedelta(seconds=self._settings.patrol.grace_s)
        day = (after - grace).astimezone(zone).date()
        ends = [
            due + grace
            for d in (day, day + timedelta(days=1), day + timedelta(days=2))
            for due in rounds_of_day(self._settings, d)
            if due + grace > after
        ]
        return min(ends, default=None)

    async def load(self, session: AsyncSession, now: datetime) -> None:
        """The rounds alerted already (before a restart)."""
        rows = await session.execute(
            select(GatewayAlert.school_id, GatewayAlert.subject_id, GatewayAlert.payload).where(
                GatewayAlert.kind == AlertKind.PATROL_OVERDUE.value,
                GatewayAlert.raised_at >= now - CATCH_UP - timedelta(days=2),
            )
        )
        for school_id, subject_id, payload in rows:
            try:
                due = datetime.fromisoformat(json.loads(payload)["round_due_at"])
            except (ValueError, KeyError, TypeError):
                continue
            self._alerted.add((school_id, subject_id, due.astimezone(UTC)))

    async def check(self, session: AsyncSession, now: datetime) -> list[Alert]:
        """Alerts for the rounds that closed since the last check without a scan."""
        since = self._judged_until or now - CATCH_UP
        settings = self._settings
        zone = settings.gateway.zone
        alerts = []
        for (school_id, day), keys in sorted(self._closing(since, now).items()):
            school = settings.school(school_id)
            if school is None:
                continue
            start, end = local_day_window(day, zone)
            rows = await scans_between(
                session, start=start, end=end, school_ids=[school_id], accepted=True
            )
            for checkpoint_id in sorted({k[1] for k in keys}):
                checkpoint = school.checkpoint(checkpoint_id)
                if checkpoint is None:
                    continue
                judged = judge_patrol_day(
                    [as_record(r) for r in rows if r.checkpoint_id == checkpoint_id],
                    day=day,
                    tz=zone,
                    now=now,
                    required=settings.rules.patrols_per_day,
                    min_spacing_s=settings.rules.patrol_min_spacing_s,
                    rounds=rounds_of_day(settings, day),
                    grace_s=settings.patrol.grace_s,
                )
                for state in judged.rounds:
                    key = (school_id, checkpoint_id, state.due_at)
                    if key not in keys or state.status is not RoundStatus.OVERDUE:
                        continue
                    due_local = state.due_at.astimezone(zone)
                    alerts.append(
                        Alert(
                            school_id=school_id,
                            kind=AlertKind.PATROL_OVERDUE,
                            subject_kind="checkpoint",
                            subject_id=checkpoint_id,
                            raised_at=now,
                            message=(
                                f"{school.name}{checkpoint.name}{due_local:%H:%M}的巡查未完成"
                                f"（已超过{settings.patrol.grace_s // 60}分钟），"
                                f"今日已巡查{len(judged.counted)}次，"
                                f"应不少于{judged.required}次"
                            ),
                            details={
                                "checkpoint_name": checkpoint.name,
                                "round_due_at": due_local.isoformat(),
                                "grace_s": settings.patrol.grace_s,
                                "patrols": len(judged.counted),
                                "required": judged.required,
                            },
                        )
                    )
        self._judged_until = now
        return alerts

    async def run(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if not any(school.key_checkpoints for school in self._settings.schools):
            return

        async def load() -> None:
            async with sessions() as session:
                await self.load(session, self._clock())

        await with_database(load, self._health)
        while True:
            now = self._clock()

            async def judge(at: datetime = now) -> list[Alert]:
                async with sessions() as session:
                    return await self.check(session, at)

            alerts = await with_database(judge, self._health)
            if alerts:
                await self._alerts.raise_alerts(alerts)
                self._alerted.update(
                    (
                        a.school_id,
                        a.subject_id,
                        datetime.fromisoformat(a.details["round_due_at"]).astimezone(UTC),
                    )
                    for a in alerts
                )
            wake = self.next_closing(now)
            delay = MAX_SLEEP_S if wake is None else (wake - self._clock()).total_seconds()
            await asyncio.sleep(min(MAX_SLEEP_S, max(0.5, delay + 0.05)))
