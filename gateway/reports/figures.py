"""The monthly report's figures (spec 1: monthly statistics and the "4个100%" indicators),
every school at once: a few reads for the whole month and site, then the existing daily and
monthly rules. Every figure is defined in docs/reports.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit.chain import audit_head
from gateway.compliance.alarm_tests import ButtonMonth, TestResult
from gateway.compliance.guards import GuardFlag, SchoolGuards, required_guards
from gateway.reports.alarms import (
    AlarmFigures,
    AlarmRecord,
    alarm_figures,
    alarms_between,
    reached_police,
)
from gateway.reports.areas import JudgedSchool, district_months, site_total
from gateway.reports.buttons import judge_buttons
from gateway.reports.cameras import offline_cameras
from gateway.reports.days import (
    GateDayResult,
    PatrolDayResult,
    judge_gate_days,
    judge_patrol_days,
    selected_schools,
)
from gateway.reports.hazards import HazardFigures, hazard_figures, ticket_histories
from gateway.reports.indicators import IndicatorFacts, judge_indicators
from gateway.reports.model import MonthlyReport, Ratio, SchoolMonth
from gateway.reports.period import InvalidPeriod, MonthPeriod, month_period
from gateway.settings import School, Settings
from gateway.staffing.roster import judge_rosters, minimum_of

__all__ = ["SchoolFacts", "judge_schools", "monthly_report", "school_month"]


@dataclass(frozen=True, slots=True)
class SchoolFacts:
    """One school's month as the rules judged it: what `school_month` turns into figures."""

    school: School
    guards: SchoolGuards  # the roster on the month's last judged day
    guards_floor: int  # the minimum whatever the pupils: shown when the pupils are unknown
    gate_days: tuple[GateDayResult, ...]  # every gate, every judged day
    patrol_days: tuple[PatrolDayResult, ...]  # every key checkpoint, every judged day
    buttons: tuple[ButtonMonth, ...]
    alarms: AlarmFigures  # emergencies
    reached_police: frozenset[str]  # buttons with an acknowledged test or emergency
    hazards: HazardFigures
    offline_cameras: frozenset[str]  # known offline at the end of the judged days
    primary_endpoints: int


def school_month(facts: SchoolFacts) -> JudgedSchool:
    """The figures of one school's month. Pure."""
    school, guards = facts.school, facts.guards
    gate_days = Ratio(sum(d.compliant for d in facts.gate_days), len(facts.gate_days))
    tests = [t for button in facts.buttons for t in button.tests]
    month = SchoolMonth(
        school_id=school.id,
        school_name=school.name,
        district=school.district,
        day_pupils=school.day_pupils,
        guards=len(guards.guards),
        guards_full_time=guards.full_time,
        guards_required=facts.guards_floor if guards.required is None else guards.required,
        guards_over_age=sum(GuardFlag.OVER_AGE in g.flags for g in guards.guards),
        guards_trained_this_quarter=sum(g.trained_this_quarter for g in guards.guards),
        gate_days=gate_days,
        unstaffed_minutes=sum(d.unstaffed_s for d in facts.gate_days) / 60.0,
        patrol_days=Ratio(sum(d.compliant for d in facts.patrol_days), len(facts.patrol_days)),
        # Patrols beyond the day's requirement do not make up for a day that fell short.
        patrols=Ratio(
            sum(min(d.patrols, d.required) for d in facts.patrol_days),
            sum(d.required for d in facts.patrol_days),
        ),
        alarm_tests=Ratio(sum(b.compliant for b in facts.buttons), len(facts.buttons)),
        tests_passed=sum(t.result is TestResult.PASSED for t in tests),
        tests_failed=sum(t.result is TestResult.FAILED for t in tests),
        alarms=facts.alarms.alarms,
        alarms_acknowledged=facts.alarms.acknowledged,
        alarms_escalated=facts.alarms.escalated,
        ack_median_s=facts.alarms.median_s,
        ack_max_s=facts.alarms.max_s,
        hazards_opened=facts.hazards.opened,
        hazards_closed=facts.hazards.closed,
        hazards_open=facts.hazards.open,
        hazards_overdue=facts.hazards.overdue,
        indicators=judge_indicators(
            IndicatorFacts(
                school=school,
                guards=guards,
                gate_days=gate_days,
                reached_police=facts.reached_police,
                primary_endpoints=facts.primary_endpoints,
                offline_cameras=facts.offline_cameras,
            )
        ),
    )
    return JudgedSchool(month, facts.alarms.latencies_s)


async def judge_schools(
    session: AsyncSession,
    settings: Settings,
    period: MonthPeriod,
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> list[JudgedSchool]:
    """Every school's month over the period's judged days, in configuration order."""
    gates = await judge_gate_days(session, settings, period.days, now=now, school_ids=school_ids)
    patrols = await judge_patrol_days(
        session, settings, period.days, now=now, school_ids=school_ids
    )
    # Tests are judged as they stood at the end of the judged days: a test of today is
    # not in a report that stops at yesterday.
    tests_now = now if period.complete else period.end
    buttons = await judge_buttons(
        session, settings, month=period.first, now=tests_now, school_ids=school_ids
    )
    try:
        rosters = await judge_rosters(
            session, settings, today=period.last_day, school_ids=school_ids
        )
    except ValueError as exc:  # a guard born after the month: the roster does not fit it
        raise InvalidPeriod(f"{period.month}: the guard roster cannot be judged: {exc}") from exc
    alarms = await alarms_between(
        session, start=period.start, end=period.end, school_ids=school_ids
    )
    tickets = await ticket_histories(
        session, start=period.start, end=period.end, school_ids=school_ids
    )
    offline = await offline_cameras(session, at=period.end, school_ids=school_ids)

    buttons_of: dict[str, list[ButtonMonth]] = defaultdict(list)
    for school_id, button_month in buttons:
        buttons_of[school_id].append(button_month)
    alarms_of: dict[str, list[AlarmRecord]] = defaultdict(list)
    for alarm in alarms:
        alarms_of[alarm.school_id].append(alarm)
    guards_of = {school.id: judged for school, judged in rosters}
    floor = required_guards(0, minimum_of(settings))
    primaries = sum(not endpoint.secondary for endpoint in settings.police)
    offline_of: dict[str, set[str]] = defaultdict(set)
    for school_id, camera_id in offline:
        offline_of[school_id].add(camera_id)
    judged = []
    for school in selected_schools(settings, school_ids):
        facts = SchoolFacts(
            school=school,
            guards=guards_of[school.id],
            guards_floor=floor,
            gate_days=tuple(d for g in school.gates for d in gates[(school.id, g.id)]),
            patrol_days=tuple(
                d for c in school.key_checkpoints for d in patrols[(school.id, c.id)]
            ),
            buttons=tuple(buttons_of[school.id]),
            alarms=alarm_figures(alarms_of[school.id]),
            reached_police=reached_police(alarms_of[school.id]),
            hazards=hazard_figures(tickets.get(school.id, ()), start=period.start, end=period.end),
            offline_cameras=frozenset(offline_of[school.id]),
            primary_endpoints=primaries,
        )
        judged.append(school_month(facts))
    return judged


async def monthly_report(
    session: AsyncSession,
    settings: Settings,
    month: str,
    *,
    now: datetime,
    school_ids: Sequence[str] | None = None,
) -> MonthlyReport:
    """The report of a local month ("YYYY-MM" in `gateway.timezone`), of the schools
    `school_ids` (None: every school); its district and site totals are over those schools
    only. The current month is judged over its complete days (up to yesterday); a month not
    begun, or begun today, is refused with InvalidPeriod."""
    zone = settings.gateway.zone
    period = month_period(month, zone, now=now)
    schools = await judge_schools(session, settings, period, now=now, school_ids=school_ids)
    return MonthlyReport(
        month=period.month,
        timezone=zone.key,
        generated_at=now.astimezone(UTC),
        schools=tuple(s.month for s in schools),
        districts=district_months(schools),
        total=site_total(schools),
        audit_head=await audit_head(session),
        partial=school_ids is not None and any(s.id not in school_ids for s in settings.schools),
    )
