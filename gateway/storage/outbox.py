"""Alarms and their police deliveries (the durable outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import ALARM_KIND_OF_EVENT, DeviceEvent
from gateway.settings import AlarmButton, School
from gateway.storage.models import Alarm, PoliceDelivery

RESPONSE_KEEP = 500  # characters of the endpoint's answer kept for the record


def lane_of(alarm: Alarm) -> str:
    """Deliveries in one lane keep their order: one lane per button."""
    return f"{alarm.school_id}/{alarm.device_id}"


def new_alarm_id(received_at: datetime) -> str:
    return f"{received_at:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create_alarm(
        self,
        *,
        event_id: int,
        event: DeviceEvent,
        school: School,
        button: AlarmButton,
        endpoint_ids: Sequence[str],
    ) -> tuple[Alarm, list[PoliceDelivery]]:
        alarm = Alarm(
            alarm_id=new_alarm_id(event.received_at),
            event_id=event_id,
            kind=ALARM_KIND_OF_EVENT[event.kind].value,
            school_id=school.id,
            school_name=school.name,
            device_id=button.id,
            location=button.location,
            zone=button.zone,
            camera_id=button.camera,
            source_id=event.message_id,
            occurred_at=event.occurred_at,
            received_at=event.received_at,
        )
        self.session.add(alarm)
        await self.session.flush()
        deliveries = [
            PoliceDelivery(
                alarm_pk=alarm.id,
                endpoint_id=endpoint_id,
                lane=lane_of(alarm),
                attempts=0,
                created_at=event.received_at,
                next_attempt_at=event.received_at,
            )
            for endpoint_id in endpoint_ids
        ]
        self.session.add_all(deliveries)
        await self.session.flush()
        return alarm, deliveries

    async def pending(self, endpoint_id: str) -> list[tuple[PoliceDelivery, Alarm]]:
        """Unacknowledged deliveries of an endpoint, oldest first."""
        result = await self.session.execute(
            select(PoliceDelivery, Alarm)
            .join(Alarm, Alarm.id == PoliceDelivery.alarm_pk)
            .where(
                PoliceDelivery.endpoint_id == endpoint_id,
                PoliceDelivery.acknowledged_at.is_(None),
            )
            .order_by(PoliceDelivery.id)
        )
        return [(row[0], row[1]) for row in result.all()]

    async def record_acknowledged(
        self,
        delivery_id: int,
        *,
        at: datetime,
        latency_s: float,
        status: int | None,
        response: str,
    ) -> None:
        await self.session.execute(
            update(PoliceDelivery)
            .where(PoliceDelivery.id == delivery_id)
            .values(
                attempts=PoliceDelivery.attempts + 1,
                last_attempt_at=at,
                acknowledged_at=at,
                latency_s=latency_s,
                last_status=status,
                last_response=response[:RESPONSE_KEEP],
            )
        )

    async def record_failure(
        self,
        delivery_id: int,
        *,
        at: datetime,
        next_attempt_at: datetime,
        status: int | None,
        response: str,
    ) -> None:
        await self.session.execute(
            update(PoliceDelivery)
            .where(PoliceDelivery.id == delivery_id)
            .values(
                attempts=PoliceDelivery.attempts + 1,
                last_attempt_at=at,
                next_attempt_at=next_attempt_at,
                last_status=status,
                last_response=response[:RESPONSE_KEEP],
            )
        )

    async def pending_counts(self) -> dict[str, int]:
        result = await self.session.execute(
            select(PoliceDelivery.endpoint_id, func.count())
            .where(PoliceDelivery.acknowledged_at.is_(None))
            .group_by(PoliceDelivery.endpoint_id)
        )
        return {endpoint: int(count) for endpoint, count in result.all()}
