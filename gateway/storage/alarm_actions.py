"""Moving an alarm through its stages (repository: the caller owns the transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import ACTIONABLE_KINDS, STAGE_ORDER, AlarmStage, Role
from gateway.errors import GatewayError, NotFound
from gateway.storage.models import Alarm, AlarmAction


class StageRefused(GatewayError):
    """The alarm cannot go to that stage from where it is (backwards, or already closed)."""


def check_stage(current: AlarmStage, target: AlarmStage) -> None:
    """Forward only (a step may be skipped: a false alarm is closed at once); closed is final.
    Pure."""
    if target is AlarmStage.NEW:
        raise StageRefused("an alarm cannot be made new again")
    if current is AlarmStage.CLOSED:
        raise StageRefused("the alarm is closed")
    if STAGE_ORDER.index(target) <= STAGE_ORDER.index(current):
        raise StageRefused(f"the alarm is already {current.value}: it only moves forward")


class AlarmActions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        alarm_id: str,
        stage: AlarmStage,
        *,
        username: str,
        role: Role,
        at: datetime,
        note: str | None,
        school_ids: list[str] | None,
    ) -> Alarm:
        """Record a step; NotFound for an alarm the caller may not see, StageRefused for a
        step that is not forward. The alarm row is locked (PostgreSQL) so two people acting at
        once are put in order."""
        query = (
            select(Alarm)
            .where(Alarm.alarm_id == alarm_id, Alarm.kind.in_(ACTIONABLE_KINDS))
            .with_for_update()
        )
        if school_ids is not None:
            query = query.where(Alarm.school_id.in_(school_ids))
        alarm = await self.session.scalar(query)
        if alarm is None:
            raise NotFound(f"no alarm {alarm_id!r}")
        last = await self.session.scalar(
            select(AlarmAction.stage)
            .where(AlarmAction.alarm_pk == alarm.id)
            .order_by(AlarmAction.id.desc())
            .limit(1)
        )
        check_stage(AlarmStage(last) if last else AlarmStage.NEW, stage)
        self.session.add(
            AlarmAction(
                alarm_pk=alarm.id,
                stage=stage.value,
                username=username,
                role=role.value,
                at=at,
                note=note,
            )
        )
        await self.session.flush()
        return alarm
