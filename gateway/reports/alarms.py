"""Alarms in a report: emergencies with how fast the police acknowledged them, and which
buttons reached the police at all (an acknowledged test or emergency)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import ACTIONABLE_KINDS, AlarmKind
from gateway.storage.models import Alarm

__all__ = ["AlarmFigures", "AlarmRecord", "alarm_figures", "alarms_between", "reached_police"]


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    school_id: str
    button_id: str
    kind: AlarmKind
    occurred_at: datetime  # the press (device time): the day and month it counts in
    received_at: datetime
    acknowledged_at: datetime | None  # the first police acknowledgement, by any endpoint
    escalated_at: datetime | None

    @property
    def ack_latency_s(self) -> float | None:
        """Police response: from the gateway receiving the press to the first
        acknowledgement (a clock stepped back under it counts as 0, not negative)."""
        if self.acknowledged_at is None:
            return None
        return max(0.0, (self.acknowledged_at - self.received_at).total_seconds())


@dataclass(frozen=True, slots=True)
class AlarmFigures:
    alarms: int
    acknowledged: int
    escalated: int
    latencies_s: tuple[float, ...]  # of the acknowledged ones, for medians over many schools

    @property
    def median_s(self) -> float | None:
        return statistics.median(self.latencies_s) if self.latencies_s else None

    @property
    def max_s(self) -> float | None:
        return max(self.latencies_s, default=None)


async def alarms_between(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    school_ids: Sequence[str] | None = None,
) -> list[AlarmRecord]:
    """Emergencies and tests pressed in [start, end) (device time), in time order."""
    c = Alarm
    query = select(
        c.school_id,
        c.device_id,
        c.kind,
        c.occurred_at,
        c.received_at,
        c.acknowledged_at,
        c.escalated_at,
    ).where(
        c.kind.in_([kind.value for kind in ACTIONABLE_KINDS]),
        c.occurred_at >= start,
        c.occurred_at < end,
    )
    if school_ids is not None:
        query = query.where(c.school_id.in_(school_ids))
    rows = await session.execute(query.order_by(c.occurred_at, c.id))
    return [
        AlarmRecord(
            school_id=row.school_id,
            button_id=row.device_id,
            kind=AlarmKind(row.kind),
            occurred_at=row.occurred_at,
            received_at=row.received_at,
            acknowledged_at=row.acknowledged_at,
            escalated_at=row.escalated_at,
        )
        for row in rows
    ]


def alarm_figures(records: Iterable[AlarmRecord]) -> AlarmFigures:
    """The emergencies among `records` (tests are counted with the monthly tests)."""
    emergencies = [r for r in records if r.kind is AlarmKind.EMERGENCY]
    latencies = tuple(latency for r in emergencies if (latency := r.ack_latency_s) is not None)
    return AlarmFigures(
        alarms=len(emergencies),
        acknowledged=len(latencies),
        escalated=sum(r.escalated_at is not None for r in emergencies),
        latencies_s=latencies,
    )


def reached_police(records: Iterable[AlarmRecord]) -> frozenset[str]:
    """The buttons with an alarm (test or emergency) a police endpoint acknowledged."""
    return frozenset(
        r.button_id for r in records if r.kind in ACTIONABLE_KINDS and r.acknowledged_at is not None
    )
