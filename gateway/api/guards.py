"""The guard roster (spec 1: full-time guards aged 60 or under, trained every quarter): the
training sessions on record, `POST/GET /api/v1/guards/{school}/{guard}/trainings`. The roster
itself (names, birth dates, full-time) is the site configuration's `schools[].guards`."""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from gateway.api.deps import Context, DbSession, require_roles, unprocessable, visible_schools
from gateway.api.error_responses import NOT_FOUND
from gateway.api.request_model import RequestModel
from gateway.auth.tokens import Principal
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.storage.models import GuardTraining

router = APIRouter(prefix="/guards", tags=["guards"])

Recorder = Annotated[Principal, Depends(require_roles(Role.POLICE, Role.INSPECTOR))]
Reader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]
OLDEST = timedelta(days=5 * 366)  # older sessions do not matter to a quarterly rule


class TrainingIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="The local date of the session")
    topic: str = Field(min_length=1, max_length=200, description="e.g. 防暴器械使用、应急处置演练")
    hours: float | None = Field(None, gt=0, le=24)


class TrainingOut(BaseModel):
    id: int
    school_id: str
    guard_id: str
    date: dt.date
    topic: str
    hours: float | None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, row: GuardTraining, context: GatewayContext) -> TrainingOut:
        return cls(
            id=row.id,
            school_id=row.school_id,
            guard_id=row.guard_id,
            date=row.trained_on,
            topic=row.topic,
            hours=row.hours,
            recorded_by=row.recorded_by,
            recorded_at=row.recorded_at.astimezone(context.settings.gateway.zone),
        )


def _known(context: GatewayContext, school_id: str, guard_id: str) -> None:
    school = context.settings.school(school_id)
    if school is None or school.guard(guard_id) is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"no guard {guard_id!r} at school {school_id!r} (schools[].guards)",
        )


@router.post(
    "/{school_id}/{guard_id}/trainings",
    response_model=TrainingOut,
    status_code=201,
    responses=NOT_FOUND,
)
async def record_training(
    principal: Recorder,
    context: Context,
    session: DbSession,
    school_id: str,
    guard_id: str,
    body: TrainingIn,
) -> TrainingOut:
    """Record a training session a guard attended."""
    visible_schools(principal, context.settings, school_id)  # 403 outside the caller's scope
    _known(context, school_id, guard_id)
    now = datetime.now(UTC)
    today = now.astimezone(context.settings.gateway.zone).date()
    if body.date > today:
        raise unprocessable(("body", "date"), f"{body.date} is in the future (today is {today})")
    if today - body.date > OLDEST:
        raise unprocessable(("body", "date"), f"{body.date} is more than five years ago")
    row = GuardTraining(
        school_id=school_id,
        guard_id=guard_id,
        trained_on=body.date,
        topic=body.topic,
        hours=body.hours,
        recorded_by=principal.username,
        recorded_at=now,
    )
    session.add(row)
    await session.commit()
    return TrainingOut.of(row, context)


@router.get(
    "/{school_id}/{guard_id}/trainings", response_model=list[TrainingOut], responses=NOT_FOUND
)
async def list_trainings(
    principal: Reader, context: Context, session: DbSession, school_id: str, guard_id: str
) -> list[TrainingOut]:
    """A guard's training sessions, newest first."""
    visible_schools(principal, context.settings, school_id)
    _known(context, school_id, guard_id)
    rows = await session.scalars(
        select(GuardTraining)
        .where(GuardTraining.school_id == school_id, GuardTraining.guard_id == guard_id)
        .order_by(GuardTraining.trained_on.desc(), GuardTraining.id.desc())
    )
    return [TrainingOut.of(row, context) for row in rows]
