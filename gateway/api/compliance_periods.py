"""Compliance over longer stretches: `GET /api/v1/compliance/calendar?month=YYYY-MM` (a month
as a heat map, per school and day) and `GET /api/v1/compliance/ratings?quarter=YYYY-Qn`
(the quarterly rating 示范 / 达标 / 不合格)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from gateway.api.deps import (
    Context,
    DbSession,
    SchoolFilter,
    require_roles,
    unprocessable,
    visible_schools,
)
from gateway.api.report_schemas import SchoolCalendarOut
from gateway.auth.tokens import Principal
from gateway.compliance.rating import RATING_TEXT, RatingChange, RatingLevel
from gateway.domain import Role
from gateway.reports.calendar import month_calendar
from gateway.reports.period import InvalidPeriod
from gateway.reports.ratings import QuarterRating, default_quarter, quarter_ratings

router = APIRouter(prefix="/compliance", tags=["compliance"])

CalendarReader = Annotated[
    Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))
]
RatingReader = Annotated[Principal, Depends(require_roles(Role.POLICE, Role.INSPECTOR))]


class SchoolRatingOut(BaseModel):
    school: str
    name: str
    district: str | None
    quarter: str = Field(description="YYYY-Qn")
    level: RatingLevel
    level_text: str = Field(description="示范, 达标 or 不合格")
    reasons: list[str] = Field(description="Why not the level above, in Chinese")
    previous_level: RatingLevel | None = Field(
        description="The quarter before; null when the gateway held no record then"
    )
    change: RatingChange
    provisional: bool = Field(description="The quarter is not over: the level may still move")

    @classmethod
    def of(cls, rated: QuarterRating) -> SchoolRatingOut:
        school, rating = rated.school, rated.rating
        return cls(
            school=school.id,
            name=school.name,
            district=school.district,
            quarter=rating.quarter,
            level=rating.level,
            level_text=RATING_TEXT[rating.level],
            reasons=list(rating.reasons),
            previous_level=rated.previous_level,
            change=rated.change,
            provisional=rated.provisional,
        )


@router.get("/calendar", response_model=list[SchoolCalendarOut])
async def calendar(
    principal: CalendarReader,
    context: Context,
    session: DbSession,
    month: Annotated[
        str | None, Query(description="Local month YYYY-MM (default: this month, so far)")
    ] = None,
    school: SchoolFilter = None,
) -> list[SchoolCalendarOut]:
    """Per school and local day of the month up to today (today `partial`): gates staffed
    around the clock of gates, key checkpoints patrolled enough of key checkpoints (null
    when the school has none), emergencies pressed; and the month's buttons tested."""
    settings = context.settings
    now = datetime.now(UTC)
    asked = month or f"{now.astimezone(settings.gateway.zone):%Y-%m}"
    schools = visible_schools(principal, settings, school)
    try:
        calendars = await month_calendar(session, settings, asked, now=now, school_ids=schools)
    except InvalidPeriod as exc:
        raise unprocessable(("query", "month"), str(exc)) from exc
    return [SchoolCalendarOut.of(item) for item in calendars]


@router.get("/ratings", response_model=list[SchoolRatingOut])
async def ratings(
    principal: RatingReader,
    context: Context,
    session: DbSession,
    quarter: Annotated[
        str | None,
        Query(description="YYYY-Qn (default: the quarter of yesterday, the last complete day)"),
    ] = None,
    school: SchoolFilter = None,
) -> list[SchoolRatingOut]:
    """Per school: the quarter's level (示范 / 达标 / 不合格, thresholds `rules.rating`) on
    its months so far, why not the level above, and the change from the quarter before.
    A quarter not over yet is `provisional`."""
    settings = context.settings
    now = datetime.now(UTC)
    asked = quarter or default_quarter(settings, now)
    schools = visible_schools(principal, settings, school)
    try:
        rated = await quarter_ratings(session, settings, asked, now=now, school_ids=schools)
    except InvalidPeriod as exc:
        raise unprocessable(("query", "quarter"), str(exc)) from exc
    return [SchoolRatingOut.of(item) for item in rated]
