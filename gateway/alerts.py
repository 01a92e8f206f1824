"""Gateway alerts (spec 2): compliance and device alerts, stored first and then published on
`{prefix}/{school}/gateway/alert` at QoS 1.

Alerts are stored before they are published (an outbox, like the police deliveries), so an
alert raised while the broker is away is published when it comes back, in order. They are not
retained: a retained alert would be handed to every new subscriber as if it had just arisen.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.errors import DeviceUnavailable
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.storage.models import GatewayAlert
from gateway.storage.retry import with_database
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.alerts")

ALERTS = cast(Table, GatewayAlert.__table__)
PUBLISH_BATCH = 100
RETRY_INITIAL_S = 0.5
RETRY_MAX_S = 30.0


class AlertKind(StrEnum):
    GATE_UNSTAFFED = "gate_unstaffed"
    GATE_STAFFED = "gate_staffed"  # the post is staffed again: clears gate_unstaffed
    DEVICE_OFFLINE = "device_offline"
    DEVICE_ONLINE = "device_online"  # clears device_offline
    POLICE_LINK_DOWN = "police_link_down"
    POLICE_LINK_UP = "police_link_up"  # clears police_link_down
    ALARM_ESCALATED = "alarm_escalated"  # no police endpoint acknowledged an alarm in time
    PATROL_OVERDUE = "patrol_overdue"  # a round of a key checkpoint missed beyond its grace
    ALARM_TEST_DUE = "alarm_test_due"  # a button not yet tested this month, the month ending


# The kind each clearing alert ends.
CLEARS: dict[AlertKind, AlertKind] = {
    AlertKind.GATE_STAFFED: AlertKind.GATE_UNSTAFFED,
    AlertKind.DEVICE_ONLINE: AlertKind.DEVICE_OFFLINE,
    AlertKind.POLICE_LINK_UP: AlertKind.POLICE_LINK_DOWN,
}


@dataclass(frozen=True, slots=True)
class Alert:
    school_id: str
    kind: AlertKind
    subject_kind: str  # gate, modbus, camera
    subject_id: str
    raised_at: datetime  # UTC
    message: str  # for people, in Chinese: it is read on duty
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.kind not in CLEARS

    def payload(self, zone: ZoneInfo) -> str:
        body = {
            "kind": self.kind.value,
            "state": "active" if self.active else "cleared",
            "school_id": self.school_id,
            "subject": {"kind": self.subject_kind, "id": self.subject_id},
            "raised_at": self.raised_at.astimezone(zone).isoformat(),
            "message": self.message,
            **self.details,
        }
        return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


class AlertTransport(Protocol):
    async def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False
    ) -> None: ...


def store_alerts(connection: Connection, alerts: Sequence[Alert], zone: ZoneInfo) -> None:
    if not alerts:
        return
    stored = connection.execute(
        insert(ALERTS).returning(*ALERTS.c),
        [
            {
                "school_id": a.school_id,
                "kind": a.kind.value,
                "subject_kind": a.subject_kind,
                "subject_id": a.subject_id,
                "raised_at": a.raised_at,
                "payload": a.payload(zone),
                "published_at": None,
            }
            for a in alerts
        ],
    ).all()
    journal_rows(connection, ALERTS, stored, action=EntryAction.INSERT)


async def latest_alert_kinds(
    session: AsyncSession, subject_kind: str
) -> dict[tuple[str, str], AlertKind]:
    """The last alert kind per (school, subject) of a kind of subject: which alerts are still
    active after a restart, so they are not raised twice."""
    c = ALERTS.c
    last_ids = (
        select(func.max(c.id))
        .where(c.subject_kind == subject_kind)
        .group_by(c.school_id, c.subject_id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(c.school_id, c.subject_id, c.kind).where(c.id.in_(last_ids))
    )
    result: dict[tuple[str, str], AlertKind] = {}
    for school_id, subject_id, kind in rows:
        try:
            result[(school_id, subject_id)] = AlertKind(kind)
        except ValueError:
            continue  # a kind from a newer version: ignore
    return result


class AlertOutbox:
    """`raise_alerts` stores; `run` publishes what is stored and not yet published."""

    def __init__(
        self,
        writer: DatabaseWriter,
        sessions: async_sessionmaker[AsyncSession],
        *,
        topic_prefix: str,
        zone: ZoneInfo,
        metrics: GatewayMetrics,
        health: HealthBoard,
        on_store: Callable[[Connection, Sequence[Alert]], object] | None = None,
    ) -> None:
        """`on_store` runs in the transaction that stores the alerts (the hidden-danger
        tickets they open)."""
        self._on_store = on_store
        self._writer = writer
        self._sessions = sessions
        self._prefix = topic_prefix
        self._zone = zone
        self._metrics = metrics
        self._health = health
        self._wake = asyncio.Event()

    async def raise_alerts(self, alerts: Sequence[Alert]) -> None:
        if not alerts:
            return
        zone = self._zone

        # An alert is not dropped because the database is away for a while.
        def store(connection: Connection) -> None:
            store_alerts(connection, alerts, zone)
            if self._on_store is not None:
                self._on_store(connection, alerts)

        await with_database(lambda: self._writer.run(store), self._health)
        for alert in alerts:
            self._metrics.alerts_raised.labels(alert.kind.value).inc()
            log.warning(
                "ALERT %s %s/%s: %s", alert.kind, alert.school_id, alert.subject_id, alert.message
            )
        self._wake.set()

    def topic(self, school_id: str) -> str:
        return f"{self._prefix}/{school_id}/gateway/alert"

    async def run(self, transport: AlertTransport) -> None:
        delay = RETRY_INITIAL_S
        self._wake.set()  # alerts stored before a restart
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                while await self._publish_some(transport):
                    pass
            except DeviceUnavailable as exc:
                self._health.report("broker:alerts", up=False, detail=str(exc))
                await asyncio.sleep(delay)
                delay = min(RETRY_MAX_S, delay * 2)
                self._wake.set()
                continue
            delay = RETRY_INITIAL_S
            self._health.report("broker:alerts", up=True, detail="publishing")

    async def _publish_some(self, transport: AlertTransport) -> bool:
        """Publish up to a batch in order; True when there may be more."""
        c = ALERTS.c
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(c.id, c.school_id, c.payload)
                    .where(c.published_at.is_(None))
                    .order_by(c.id)
                    .limit(PUBLISH_BATCH)
                )
            ).all()
        for alert_id, school_id, payload in rows:
            await transport.publish(self.topic(school_id), payload, qos=1, retain=False)
            await self._writer.run(_mark_published(alert_id, datetime.now(UTC)))
        return len(rows) == PUBLISH_BATCH


def _mark_published(alert_id: int, at: datetime) -> Callable[[Connection], None]:
    def mark(connection: Connection) -> None:
        published = connection.execute(
            update(ALERTS)
            .where(ALERTS.c.id == alert_id)
            .values(published_at=at)
            .returning(*ALERTS.c)
        ).all()
        journal_rows(connection, ALERTS, published, action=EntryAction.UPDATE)

    return mark
