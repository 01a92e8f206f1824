"""Compliance (spec 5): `GET /api/v1/compliance/alarm-tests?month=YYYY-MM`,
`GET /api/v1/compliance/gate-staffing?date=YYYY-MM-DD`,
`GET /api/v1/compliance/patrols?date=YYYY-MM-DD` and `GET /api/v1/compliance/guards`."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from gateway.alarmtests.queries import judge_month
from gateway.api.alarm_test_schemas import AlarmTestMonthOut
from gateway.api.deps import (
    Context,
    DbSession,
    LocalDay,
    SchoolFilter,
    check_year,
    local_day,
    require_roles,
    unprocessable,
    visible_schools,
)
from gateway.api.guard_schemas import SchoolGuardsOut
from gateway.api.patrol_schemas import PatrolDayOut
from gateway.api.staffing_schemas import GateStaffingOut
from gateway.auth.tokens import Principal
from gateway.compliance.alarm_tests import parse_month
from gateway.compliance.gate_staffing import (
    JUDGED_SOURCES,
    judge_gate_day,
    report_span,
)
from gateway.domain import Role
from gateway.patrol.queries import judge_day
from gateway.staffing.queries import reports_for_window
from gateway.staffing.roster import judge_rosters

router = APIRouter(prefix="/compliance", tags=["compliance"])

ComplianceReader = Annotated[
    Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))
]


@router.get("/gate-staffing", response_model=list[GateStaffingOut])
async def gate_staffing(
    principal: ComplianceReader,
    context: Context,
    session: DbSession,
    day: LocalDay = None,
    school: SchoolFilter = None,
) -> list[GateStaffingOut]:
    """Per gate: staffed seconds, the unstaffed intervals, whether the day is compliant (no
    unstaffed interval longer than `rules.gate_max_unstaffed_s`), what each source said and
    where the sources disagree."""
    settings = context.settings
    zone = settings.gateway.zone
    day, now = local_day(context, day)
    schools = visible_schools(principal, settings, school)
    max_s = settings.rules.gate_max_unstaffed_s
    since, until = report_span(day, zone, max_unstaffed_s=max_s)
    reports = await reports_for_window(session, start=since, end=until, school_ids=schools)
    items = []
    for item in settings.schools:
        if schools is not None and item.id not in schools:
            continue
        for gate in item.gates:
            judged = judge_gate_day(
                reports.get((item.id, gate.id), []),
                day=day,
                tz=zone,
                now=now,
                max_unstaffed_s=max_s,
            )
            items.append(
                GateStaffingOut.of(
                    judged,
                    school=(item.id, item.name),
                    gate=(gate.id, gate.name),
                    judged=JUDGED_SOURCES,
                    zone=zone,
                )
            )
    return items


@router.get("/patrols", response_model=list[PatrolDayOut])
async def patrols(
    principal: ComplianceReader,
    context: Context,
    session: DbSession,
    day: LocalDay = None,
    school: SchoolFilter = None,
) -> list[PatrolDayOut]:
    """Per key checkpoint: the patrols that count (scans at least `rules.patrol_min_spacing_s`
    apart, at their scan time, late uploads too), every scan with the reason a refused one
    does not count, the day's rounds, and whether there were `rules.patrols_per_day`."""
    settings = context.settings
    day, now = local_day(context, day)
    schools = visible_schools(principal, settings, school)
    days = await judge_day(session, settings, day=day, now=now, school_ids=schools)
    return [PatrolDayOut.of(item, settings) for item in days]


@router.get("/alarm-tests", response_model=list[AlarmTestMonthOut])
async def alarm_tests(
    principal: ComplianceReader,
    context: Context,
    session: DbSession,
    month: Annotated[
        str | None,
        Query(description="Local month YYYY-MM (default: this month, so far)"),
    ] = None,
    school: SchoolFilter = None,
) -> list[AlarmTestMonthOut]:
    """Per alarm button: the tests pressed that month with every police receipt (endpoint,
    acknowledged at, latency), the testers, and whether at least
    `rules.alarm_tests_per_month` passed (a test with no receipt fails)."""
    settings = context.settings
    zone = settings.gateway.zone
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    try:
        first = date(today.year, today.month, 1) if month is None else parse_month(month)
    except ValueError as exc:
        raise unprocessable(("query", "month"), str(exc)) from exc
    check_year(("query", "month"), first)
    if first > today:
        raise unprocessable(("query", "month"), f"{month} has not begun yet in {zone.key}")
    schools = visible_schools(principal, settings, school)
    buttons = await judge_month(session, settings, month=first, now=now, school_ids=schools)
    return [AlarmTestMonthOut.of(item, zone) for item in buttons]


@router.get("/guards", response_model=list[SchoolGuardsOut])
async def guards(
    principal: ComplianceReader,
    context: Context,
    session: DbSession,
    school: SchoolFilter = None,
) -> list[SchoolGuardsOut]:
    """Per school, today: full-time guards against the minimum for its day pupils
    (`rules.guard_minimum`, after GB/T 29315-2022), and each guard's age (at most
    `rules.guard_max_age`) and quarterly training."""
    settings = context.settings
    schools = visible_schools(principal, settings, school)
    today = datetime.now(UTC).astimezone(settings.gateway.zone).date()
    rosters = await judge_rosters(session, settings, today=today, school_ids=schools)
    return [SchoolGuardsOut.of(item, judged) for item, judged in rosters]
