"""Bodies of the monthly report, the compliance calendar and the quarterly ratings. They
mirror `gateway.reports.model`; times are RFC 3339 in the site's time zone."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from gateway.reports.calendar import CalendarDay, SchoolCalendar
from gateway.reports.model import AreaMonth, AuditHead, MonthlyReport, Ratio, SchoolMonth

__all__ = [
    "AreaMonthOut",
    "CalendarDayOut",
    "CountOut",
    "MonthlyReportOut",
    "RatioOut",
    "SchoolCalendarOut",
    "SchoolMonthOut",
    "report_json",
]


class RatioOut(BaseModel):
    done: int
    required: int
    value: float | None = Field(description="done / required; null when nothing was required")

    @classmethod
    def of(cls, ratio: Ratio) -> RatioOut:
        return cls(done=ratio.done, required=ratio.required, value=ratio.value)


class SchoolMonthOut(BaseModel):
    school_id: str
    school_name: str
    district: str | None
    day_pupils: int | None
    guards: int = Field(description="Guards on the roster at the month's end")
    guards_full_time: int
    guards_required: int = Field(
        description="The minimum for the day pupils (the least any school needs when unknown)"
    )
    guards_over_age: int
    guards_trained_this_quarter: int
    gate_days: RatioOut = Field(description="Gate-days staffed around the clock, of gate-days")
    unstaffed_minutes: float
    patrol_days: RatioOut = Field(description="Key checkpoint-days patrolled enough, of them")
    patrols: RatioOut = Field(description="Patrols counted (at most the day's due), of due")
    alarm_tests: RatioOut = Field(description="Buttons tested as the month asks, of buttons")
    tests_passed: int
    tests_failed: int
    alarms: int = Field(description="Emergencies pressed (tests not included)")
    alarms_acknowledged: int
    alarms_escalated: int
    police_ack: RatioOut
    ack_median_s: float | None
    ack_max_s: float | None
    hazards_opened: int
    hazards_closed: int
    hazards_open: int
    hazards_overdue: int
    indicators: dict[str, bool] = Field(
        description="full_time_guards, closed_management, alarm_networked, video_networked"
    )
    four_100: bool = Field(description="All four indicators met")

    @classmethod
    def of(cls, month: SchoolMonth) -> SchoolMonthOut:
        return cls(
            school_id=month.school_id,
            school_name=month.school_name,
            district=month.district,
            day_pupils=month.day_pupils,
            guards=month.guards,
            guards_full_time=month.guards_full_time,
            guards_required=month.guards_required,
            guards_over_age=month.guards_over_age,
            guards_trained_this_quarter=month.guards_trained_this_quarter,
            gate_days=RatioOut.of(month.gate_days),
            unstaffed_minutes=month.unstaffed_minutes,
            patrol_days=RatioOut.of(month.patrol_days),
            patrols=RatioOut.of(month.patrols),
            alarm_tests=RatioOut.of(month.alarm_tests),
            tests_passed=month.tests_passed,
            tests_failed=month.tests_failed,
            alarms=month.alarms,
            alarms_acknowledged=month.alarms_acknowledged,
            alarms_escalated=month.alarms_escalated,
            police_ack=RatioOut.of(month.police_ack),
            ack_median_s=month.ack_median_s,
            ack_max_s=month.ack_max_s,
            hazards_opened=month.hazards_opened,
            hazards_closed=month.hazards_closed,
            hazards_open=month.hazards_open,
            hazards_overdue=month.hazards_overdue,
            indicators={str(k): v for k, v in month.indicators.items()},
            four_100=month.four_100,
        )


class AreaMonthOut(BaseModel):
    district: str | None = Field(description="null: the schools without a district, or the site")
    schools: int
    guards: int
    guards_full_time: int
    guards_required: int
    guards_over_age: int
    gate_days: RatioOut
    patrol_days: RatioOut
    alarm_tests: RatioOut
    tests_passed: int
    tests_failed: int
    alarms: int
    alarms_acknowledged: int
    alarms_escalated: int
    ack_median_s: float | None = Field(description="Over every acknowledged emergency")
    ack_max_s: float | None
    hazards_opened: int
    hazards_closed: int
    hazards_open: int
    indicators: dict[str, RatioOut] = Field(description="Schools meeting each, of schools")

    @classmethod
    def of(cls, area: AreaMonth) -> AreaMonthOut:
        return cls(
            district=area.district,
            schools=area.schools,
            guards=area.guards,
            guards_full_time=area.guards_full_time,
            guards_required=area.guards_required,
            guards_over_age=area.guards_over_age,
            gate_days=RatioOut.of(area.gate_days),
            patrol_days=RatioOut.of(area.patrol_days),
            alarm_tests=RatioOut.of(area.alarm_tests),
            tests_passed=area.tests_passed,
            tests_failed=area.tests_failed,
            alarms=area.alarms,
            alarms_acknowledged=area.alarms_acknowledged,
            alarms_escalated=area.alarms_escalated,
            ack_median_s=area.ack_median_s,
            ack_max_s=area.ack_max_s,
            hazards_opened=area.hazards_opened,
            hazards_closed=area.hazards_closed,
            hazards_open=area.hazards_open,
            indicators={str(k): RatioOut.of(v) for k, v in area.indicators.items()},
        )


class AuditHeadOut(BaseModel):
    seq: int
    hash: str

    @classmethod
    def of(cls, head: AuditHead) -> AuditHeadOut:
        return cls(seq=head.seq, hash=head.hash)


class MonthlyReportOut(BaseModel):
    month: str = Field(description="YYYY-MM, local")
    timezone: str
    generated_at: dt.datetime
    schools: list[SchoolMonthOut]
    districts: list[AreaMonthOut]
    total: AreaMonthOut
    audit_head: AuditHeadOut | None = Field(
        description="The tamper-evident log's last sealed entry when the report was made"
    )
    partial: bool = Field(
        description="Only the schools the account sees: `total` is theirs (合计), not the city's"
    )

    @classmethod
    def of(cls, report: MonthlyReport) -> MonthlyReportOut:
        return cls(
            month=report.month,
            timezone=report.timezone,
            generated_at=report.generated_at.astimezone(ZoneInfo(report.timezone)),
            schools=[SchoolMonthOut.of(s) for s in report.schools],
            districts=[AreaMonthOut.of(a) for a in report.districts],
            total=AreaMonthOut.of(report.total),
            audit_head=None if report.audit_head is None else AuditHeadOut.of(report.audit_head),
            partial=report.partial,
        )


class CountOut(BaseModel):
    done: int
    required: int

    @classmethod
    def of(cls, ratio: Ratio) -> CountOut:
        return cls(done=ratio.done, required=ratio.required)


class CalendarDayOut(BaseModel):
    date: dt.date
    gate: CountOut | None = Field(description="Gates staffed around the clock, of gates")
    patrols: CountOut | None = Field(description="Key checkpoints patrolled enough, of them")
    alarms: int = Field(description="Emergencies pressed that day")
    partial: bool = Field(description="Today: judged up to now")

    @classmethod
    def of(cls, day: CalendarDay) -> CalendarDayOut:
        return cls(
            date=day.day,
            gate=None if day.gate is None else CountOut.of(day.gate),
            patrols=None if day.patrols is None else CountOut.of(day.patrols),
            alarms=day.alarms,
            partial=day.partial,
        )


class SchoolCalendarOut(BaseModel):
    school: str
    name: str
    district: str | None
    alarm_tests: CountOut = Field(description="Buttons tested as the month asks, of buttons")
    days: list[CalendarDayOut]

    @classmethod
    def of(cls, calendar: SchoolCalendar) -> SchoolCalendarOut:
        school = calendar.school
        return cls(
            school=school.id,
            name=school.name,
            district=school.district,
            alarm_tests=CountOut.of(calendar.alarm_tests),
            days=[CalendarDayOut.of(day) for day in calendar.days],
        )


def report_json(report: MonthlyReport) -> bytes:
    """The report as the API's JSON, indented for a file read by people and programs."""
    return MonthlyReportOut.of(report).model_dump_json(indent=2).encode("utf-8")
