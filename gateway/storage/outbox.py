"""Reading the outbox: unacknowledged police deliveries (written by `writes.py` and
`delivery_outcomes.py`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.storage.models import Alarm, PoliceDelivery


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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

    async def pending_counts(self) -> dict[str, int]:
        result = await self.session.execute(
            select(PoliceDelivery.endpoint_id, func.count())
            .where(PoliceDelivery.acknowledged_at.is_(None))
            .group_by(PoliceDelivery.endpoint_id)
        )
        return {endpoint: int(count) for endpoint, count in result.all()}
