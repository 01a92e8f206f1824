"""The quarterly rating of every school (示范 / 达标 / 不合格), from the monthly figures of the
quarter's months that have a complete day, compared with the quarter before."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.rating import (
    PeriodError,
    RatingChange,
    RatingLevel,
    SchoolRating,
    parse_quarter,
    previous_quarter,
    quarter_of_month,
    rate_school,
    rating_change,
)
from gateway.reports.days import selected_schools
from gateway.reports.figures import judge_schools
from gateway.reports.model import SchoolMonth
from gateway.reports.period import (
    InvalidPeriod,
    MonthPeriod,
    latest_complete_day,
    month_period,
    parse_report_month,
)
from gateway.settings import School, Settings
from gateway.storage.models import Event

__all__ = ["QuarterRating", "default_quarter", "quarter_periods", "quarter_ratings"]


@dataclass(frozen=True, slots=True)
class QuarterRating:
    school: School
    rating: SchoolRating
    previous_level: RatingLevel | None  # None: the gateway held no record then
    change: RatingChange
    provisional: bool  # the quarter is not over: the level may still move


def default_quarter(settings: Settings, now: datetime) -> str:
    """The quarter of yesterday, the last complete day: on a quarter's first day the
    quarter just ended, not one with nothing to rate."""
    return quarter_of_month(f"{latest_complete_day(settings.gateway.zone, now):%Y-%m}")


def quarter_periods(quarter: str, settings: Settings, *, now: datetime) -> list[MonthPeriod]:
    """The quarter's months that have a complete local day at `now`, in order; InvalidPeriod
    when the quarter is malformed or none has."""
    try:
        months = parse_quarter(quarter)
    except PeriodError as exc:
        raise InvalidPeriod(str(exc)) from exc
    parse_report_month(months[0])  # the years the gateway can hold records of
    zone = settings.gateway.zone
    periods = []
    for month in months:
        try:
            periods.append(month_period(month, zone, now=now))
        except InvalidPeriod:
            break  # this month and the ones after have no complete day yet
    if not periods:
        raise InvalidPeriod(f"{quarter} has no complete day yet in {zone.key}: nothing to rate")
    return periods


async def _rate(
    session: AsyncSession,
    settings: Settings,
    quarter: str,
    periods: Sequence[MonthPeriod],
    *,
    now: datetime,
    school_ids: Sequence[str] | None,
) -> dict[str, SchoolRating]:
    months: dict[str, list[SchoolMonth]] = defaultdict(list)
    for period in periods:
        judged_schools = await judge_schools(
            session, settings, period, now=now, school_ids=school_ids
        )
        for judged in judged_schools:
            months[judged.month.school_id].append(judged.month)
    rules = settings.rules.rating
    return {
        school_id: rate_school(items, rules, quarter=quarter) for school_id, items in months.items()
    }


async def _first_record_at(session: AsyncSession) -> datetime | None:
    """When the gateway stored its first event (the first row, by the primary key)."""
    return await session.scalar(select(Event.received_at).order_by(Event.id).limit(1))


async def quarter_ratings(
    session: AsyncSession,
    settings: Settings,
    quarter: str,
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> list[QuarterRating]:
    """Every school rated on `quarter` (YYYY-Qn), with its level the quarter before. The
    quarter before is rated only if the gateway was in use then (its first event came before
    that quarter ended); otherwise the change is `new`."""
    periods = quarter_periods(quarter, settings, now=now)
    current = await _rate(session, settings, quarter, periods, now=now, school_ids=school_ids)
    previous: dict[str, SchoolRating] = {}
    before = previous_quarter(quarter)
    try:
        before_periods = quarter_periods(before, settings, now=now)
    except InvalidPeriod:
        before_periods = []  # before the years the gateway can hold records of
    first_record = await _first_record_at(session)
    if before_periods and first_record is not None and first_record < before_periods[-1].end:
        previous = await _rate(
            session, settings, before, before_periods, now=now, school_ids=school_ids
        )
    provisional = len(periods) < 3 or not periods[-1].complete
    ratings = []
    for school in selected_schools(settings, school_ids):
        rating = current[school.id]
        earlier = previous.get(school.id)
        previous_level = None if earlier is None else earlier.level
        ratings.append(
            QuarterRating(
                school=school,
                rating=rating,
                previous_level=previous_level,
                change=rating_change(previous_level, rating.level),
                provisional=provisional,
            )
        )
    return ratings
