"""Reminders of the monthly alarm test: `rules.alarm_test_reminder_days` before the end of the
local month, each button without enough passed tests raises `alarm_test_due` on
`{prefix}/{school}/gateway/alert`, once per button and month (also after a restart)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.alarmtests.queries import judge_month
from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.health import HealthBoard
from gateway.settings import Settings
from gateway.storage.models import GatewayAlert
from gateway.storage.retry import with_database

CHECK_INTERVAL_S = 3600.0  # the reminder is a matter of days: hourly is soon enough
Key = tuple[str, str, str]  # school, button, month YYYY-MM


class AlarmTestReminders:
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
        self._alerted: set[Key] = set()

    async def load(self, session: AsyncSession, now: datetime) -> None:
        """The buttons reminded of already this month or last (before a restart)."""
        rows = await session.execute(
            select(GatewayAlert.school_id, GatewayAlert.subject_id, GatewayAlert.payload).where(
                GatewayAlert.kind == AlertKind.ALARM_TEST_DUE.value,
                GatewayAlert.raised_at >= now - timedelta(days=62),
            )
        )
        for school_id, subject_id, payload in rows:
            try:
                month = str(json.loads(payload)["month"])
            except (ValueError, KeyError, TypeError):
                continue
            self._alerted.add((school_id, subject_id, month))

    async def check(self, session: AsyncSession, now: datetime) -> list[Alert]:
        settings = self._settings
        today = now.astimezone(settings.gateway.zone).date()
        month = date(today.year, today.month, 1)
        label = f"{month:%Y-%m}"
        alerts = []
        for item in await judge_month(session, settings, month=month, now=now, school_ids=None):
            judged = item.month
            key = (item.school.id, item.button.id, label)
            if not judged.due_soon or key in self._alerted:
                continue
            self._alerted.add(key)
            alerts.append(
                Alert(
                    school_id=item.school.id,
                    kind=AlertKind.ALARM_TEST_DUE,
                    subject_kind="alarm",
                    subject_id=item.button.id,
                    raised_at=now,
                    message=(
                        f"{item.school.name}{item.button.location}的一键报警本月尚未完成测试"
                        f"（已通过{judged.passed}次，应不少于{judged.required}次，"
                        f"本月还剩{judged.days_left}天），请联系属地公安机关和教育部门联合测试"
                    ),
                    details={
                        "month": label,
                        "location": item.button.location,
                        "passed": judged.passed,
                        "required": judged.required,
                        "days_left": judged.days_left,
                    },
                )
            )
        return alerts

    async def run(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        async def load() -> None:
            async with sessions() as session:
                await self.load(session, self._clock())

        await with_database(load, self._health)
        while True:

            async def judge() -> list[Alert]:
                async with sessions() as session:
                    return await self.check(session, self._clock())

            alerts = await with_database(judge, self._health)
            await self._alerts.raise_alerts(alerts)
            await asyncio.sleep(CHECK_INTERVAL_S)
