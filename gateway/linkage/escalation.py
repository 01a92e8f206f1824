"""Escalation: an alarm that no primary police endpoint has acknowledged within
`linkage.escalation_s` raises an alert for its school (MQTT, and the console's live feed) and
is sent to the secondary endpoints, if any. Once per alarm, also across restarts: the alarm
row records when it was escalated."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import select

from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.context import GatewayContext
from gateway.domain import ACTIONABLE_KINDS
from gateway.linkage.outbox import PoliceOutbox, pending_delivery
from gateway.storage.delivery_outcomes import escalate_alarm
from gateway.storage.models import Alarm
from gateway.storage.retry import with_database

log = logging.getLogger("gateway.escalation")
CHECK_INTERVAL_S = 1.0
BATCH = 100
# Alarms older than this are not escalated any more (they were, or predate escalation).
HORIZON = timedelta(hours=24)
Clock = Callable[[], datetime]


class AlarmEscalation:
    def __init__(
        self,
        context: GatewayContext,
        outbox: PoliceOutbox,
        alerts: AlertOutbox,
        *,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._context = context
        self._outbox = outbox
        self._alerts = alerts
        self._clock = clock
        self._after = timedelta(seconds=context.settings.linkage.escalation_s)

    async def run(self) -> None:
        interval = min(CHECK_INTERVAL_S, self._after.total_seconds() / 2)
        while True:
            await with_database(self.check, self._context.health)
            await asyncio.sleep(interval)

    async def check(self) -> int:
        """Escalate every alarm due now; return how many."""
        now = self._clock()
        async with self._context.sessions() as session:
            due = (
                await session.scalars(
                    select(Alarm)
                    .where(
                        Alarm.kind.in_(ACTIONABLE_KINDS),
                        Alarm.acknowledged_at.is_(None),
                        Alarm.escalated_at.is_(None),
                        Alarm.received_at < now - self._after,
                        Alarm.received_at > now - HORIZON,
                    )
                    .order_by(Alarm.received_at)
                    .limit(BATCH)
                )
            ).all()
        escalated = 0
        for alarm in due:
            deliveries = await self._context.writer.run(
                partial(
                    escalate_alarm,
                    alarm_pk=alarm.id,
                    at=now,
                    endpoint_ids=self._outbox.secondary_ids,
                )
            )
            settings = self._context.settings
            self._outbox.submit([pending_delivery(d, alarm, settings) for d in deliveries])
            await self._alerts.raise_alerts([self._alert(alarm, now, deliveries != [])])
            self._publish(alarm, now)
            escalated += 1
        return escalated

    def _alert(self, alarm: Alarm, now: datetime, to_secondary: bool) -> Alert:
        waited = round((now - alarm.received_at).total_seconds())
        what = "紧急报警" if alarm.kind == "emergency" else "报警测试"
        also = "，已转发备用接警中心" if to_secondary else ""
        return Alert(
            school_id=alarm.school_id,
            kind=AlertKind.ALARM_ESCALATED,
            subject_kind="alarm",
            subject_id=alarm.device_id,
            raised_at=now,
            message=f"{alarm.location}{what}{waited}秒未获接警中心确认{also}",
            details={
                "alarm_id": alarm.alarm_id,
                "alarm_kind": alarm.kind,
                "location": alarm.location,
                "waited_s": waited,
                "secondary": self._outbox.secondary_ids if to_secondary else [],
            },
        )

    def _publish(self, alarm: Alarm, now: datetime) -> None:
        bus = self._context.bus
        if bus.listened:
            bus.publish(
                "escalation",
                {
                    "alarm_id": alarm.alarm_id,
                    "school_id": alarm.school_id,
                    "device_id": alarm.device_id,
                    "location": alarm.location,
                    "escalated_at": now.isoformat(),
                },
            )
