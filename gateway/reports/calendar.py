"""A month as a calendar, for the inspectors' heat map: per school and local day, gates
staffed around the clock of gates, key checkpoints patrolled enough of key checkpoints, and
emergencies pressed; the month's buttons tested. Today is judged so far (`partial`)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.alarm_tests import ButtonMonth, month_window
from gateway.domain import AlarmKind
from gateway.reports.alarms import alarms_between
from gateway.reports.buttons import judge_buttons
from gateway.reports.days import (
    GateDayResult,
    PatrolDayResult,
    judge_gate_days,
    judge_patrol_days,
    selected_schools,
)
from gateway.reports.model import Ratio
from gateway.reports.period import InvalidPeriod, month_days, parse_report_month
from gateway.settings import School, Settings

__all__ = ["CalendarDay", "SchoolCalendar", "calendar_days", "month_calendar", "school_calendar"]


@dataclass(frozen=True, slots=True)
class CalendarDay:
    day: date
    gate: Ratio | None  # gates compliant that day, of gates; None: the school has no gate
    patrols: Ratio | None  # key checkpoints compliant, of key checkpoints; None: it has none
    alarms: int  # emergencies pressed that day (tests are under alarm_tests)
    partial: bool  # today: judged up to now


@dataclass(frozen=True, slots=True)
class SchoolCalendar:
    school: School
    alarm_tests: Ratio  # buttons with the month's tests done, of buttons
    days: tuple[CalendarDay, ...]


def calendar_days(month: str, settings: Settings, *, now: datetime) -> tuple[date, ...]:
    """The month's local days up to today (today included); InvalidPeriod when the month
    is malformed or has not begun."""
    zone = settings.gateway.zone
    first = parse_report_month(month)
    today = now.astimezone(zone).date()
    if first > today:
        start, _ = month_window(first, zone)
        raise InvalidPeriod(
            f"{month} has not begun yet in {zone.key} (it begins "
            f"{start.astimezone(zone).isoformat()})"
        )
    return tuple(day for day in month_days(first) if day <= today)


def _ratio(judged: Sequence[bool]) -> Ratio | None:
    return Ratio(sum(judged), len(judged)) if judged else None


def school_calendar(
    school: School,
    days: Sequence[date],
    *,
    today: date,
    gate_days: Mapping[str, Sequence[GateDayResult]],
    patrol_days: Mapping[str, Sequence[PatrolDayResult]],
    emergencies: Mapping[date, int],
    buttons: Sequence[ButtonMonth],
) -> SchoolCalendar:
    """One school's calendar from its judged days (each gate's and checkpoint's days in the
    order of `days`). Pure."""
    rows = []
    for index, day in enumerate(days):
        gates = [gate_days[g.id][index].compliant for g in school.gates]
        patrols = [patrol_days[c.id][index].compliant for c in school.key_checkpoints]
        rows.append(
            CalendarDay(
                day=day,
                gate=_ratio(gates),
                patrols=_ratio(patrols),
                alarms=emergencies.get(day, 0),
                partial=day == today,
            )
        )
    tested = Ratio(sum(b.compliant for b in buttons), len(buttons))
    return SchoolCalendar(school=school, alarm_tests=tested, days=tuple(rows))


async def month_calendar(
    session: AsyncSession,
    settings: Settings,
    month: str,
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> list[SchoolCalendar]:
    """Every school's calendar for the local month, up to `now`."""
    zone = settings.gateway.zone
    days = calendar_days(month, settings, now=now)
    gates = await judge_gate_days(session, settings, days, now=now, school_ids=school_ids)
    patrols = await judge_patrol_days(session, settings, days, now=now, school_ids=school_ids)
    buttons = await judge_buttons(session, settings, month=days[0], now=now, school_ids=school_ids)
    start, end = month_window(days[0], zone)
    emergencies: Counter[tuple[str, date]] = Counter(
        (alarm.school_id, alarm.occurred_at.astimezone(zone).date())
        for alarm in await alarms_between(session, start=start, end=end, school_ids=school_ids)
        if alarm.kind is AlarmKind.EMERGENCY and alarm.occurred_at <= now
    )
    buttons_of: dict[str, list[ButtonMonth]] = defaultdict(list)
    for school_id, button_month in buttons:
        buttons_of[school_id].append(button_month)
    today = now.astimezone(zone).date()
    calendars = []
    for school in selected_schools(settings, school_ids):
        calendars.append(
            school_calendar(
                school,
                days,
                today=today,
                gate_days={g.id: gates[(school.id, g.id)] for g in school.gates},
                patrol_days={c.id: patrols[(school.id, c.id)] for c in school.key_checkpoints},
                emergencies={
                    day: emergencies[(school.id, day)]
                    for day in days
                    if (school.id, day) in emergencies
                },
                buttons=buttons_of[school.id],
            )
        )
    return calendars
