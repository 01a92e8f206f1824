"""Read side of alarms: alarms with the state of their police deliveries, for the API."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import ACTIONABLE_KINDS, AlarmKind, AlarmStage
from gateway.storage.models import Alarm, AlarmAction, PoliceDelivery


@dataclass(frozen=True, slots=True)
class DeliveryView:
    endpoint_id: str
    attempts: int
    next_attempt_at: datetime
    acknowledged_at: datetime | None
    latency_s: float | None
    last_status: int | None
    last_response: str | None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True, slots=True)
class ActionView:
    stage: AlarmStage
    username: str
    role: str
    at: datetime
    note: str | None


@dataclass(frozen=True, slots=True)
class AlarmView:
    alarm_id: str
    kind: AlarmKind
    school_id: str
    school_name: str
    device_id: str
    location: str
    zone: int
    occurred_at: datetime
    received_at: datetime
    source_id: str
    deliveries: tuple[DeliveryView, ...]
    actions: tuple[ActionView, ...] = ()
    escalated_at: datetime | None = None

    @property
    def stage(self) -> AlarmStage:
        return self.actions[-1].stage if self.actions else AlarmStage.NEW

    @property
    def delivered(self) -> bool:
        """Every police endpoint acknowledged. An alarm with no endpoint reached nobody, so
        it is not delivered."""
        return bool(self.deliveries) and all(d.acknowledged for d in self.deliveries)


async def list_alarms(
    session: AsyncSession,
    *,
    school_ids: Sequence[str] | None,
    since: datetime | None,
    until: datetime | None,
    kind: AlarmKind | None,
    limit: int,
) -> list[AlarmView]:
    """Newest first by the gateway's receive time (device clocks may be off):
    `since <= received_at < until`. Three queries, whatever the number of alarms."""
    query = select(Alarm).where(Alarm.kind.in_(ACTIONABLE_KINDS))
    if school_ids is not None:
        query = query.where(Alarm.school_id.in_(school_ids))
    if since is not None:
        query = query.where(Alarm.received_at >= since)
    if until is not None:
        query = query.where(Alarm.received_at < until)
    if kind is not None:
        query = query.where(Alarm.kind == kind.value)
    query = query.order_by(Alarm.received_at.desc(), Alarm.id.desc()).limit(limit)
    return await _views(session, (await session.scalars(query)).all())


async def list_alarms_by_id(session: AsyncSession, alarm_ids: Sequence[str]) -> list[AlarmView]:
    alarms = await session.scalars(
        select(Alarm).where(Alarm.alarm_id.in_(alarm_ids), Alarm.kind.in_(ACTIONABLE_KINDS))
    )
    return await _views(session, alarms.all())


async def _views(session: AsyncSession, alarms: Sequence[Alarm]) -> list[AlarmView]:
    if not alarms:
        return []

    deliveries: defaultdict[int, list[DeliveryView]] = defaultdict(list)
    rows = await session.scalars(
        select(PoliceDelivery)
        .where(PoliceDelivery.alarm_pk.in_([alarm.id for alarm in alarms]))
        .order_by(PoliceDelivery.alarm_pk, PoliceDelivery.endpoint_id)
    )
    for row in rows:
        deliveries[row.alarm_pk].append(
            DeliveryView(
                endpoint_id=row.endpoint_id,
                attempts=row.attempts,
                next_attempt_at=row.next_attempt_at,
                acknowledged_at=row.acknowledged_at,
                latency_s=row.latency_s,
                last_status=row.last_status,
                last_response=row.last_response,
            )
        )
    actions: defaultdict[int, list[ActionView]] = defaultdict(list)
    for action in await session.scalars(
        select(AlarmAction)
        .where(AlarmAction.alarm_pk.in_([alarm.id for alarm in alarms]))
        .order_by(AlarmAction.alarm_pk, AlarmAction.id)
    ):
        actions[action.alarm_pk].append(
            ActionView(
                AlarmStage(action.stage), action.username, action.role, action.at, action.note
            )
        )
    return [
        AlarmView(
            alarm_id=alarm.alarm_id,
            kind=AlarmKind(alarm.kind),
            school_id=alarm.school_id,
            school_name=alarm.school_name,
            device_id=alarm.device_id,
            location=alarm.location,
            zone=alarm.zone,
            occurred_at=alarm.occurred_at,
            received_at=alarm.received_at,
            source_id=alarm.source_id,
            deliveries=tuple(deliveries[alarm.id]),
            actions=tuple(actions[alarm.id]),
            escalated_at=alarm.escalated_at,
        )
        for alarm in alarms
    ]
