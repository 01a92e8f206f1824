"""Sample monthly reports for the renderers' tests: a few schools in two districts, one with
no district and nothing configured, Chinese names; and large reports for pagination.

The area totals are summed here from the schools (a test's own arithmetic, so a figure can be
checked against a number written in the test)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from gateway.reports.model import (
    AreaMonth,
    AuditHead,
    Indicator,
    MonthlyReport,
    Ratio,
    SchoolMonth,
)

MONTH = "2026-11"
TIMEZONE = "Asia/Shanghai"
GENERATED_AT = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai
AUDIT_HEAD = AuditHead(seq=4821, hash="9f2c4e1ab37d5c60" + "e8" * 24)

ALL_MET = dict.fromkeys(Indicator, True)


def school_month(
    school_id: str, school_name: str, district: str | None, **figures: object
) -> SchoolMonth:
    """A school that did everything asked of it unless `figures` say otherwise."""
    base = SchoolMonth(
        school_id=school_id,
        school_name=school_name,
        district=district,
        day_pupils=800,
        guards=3,
        guards_full_time=3,
        guards_required=2,
        guards_over_age=0,
        guards_trained_this_quarter=3,
        gate_days=Ratio(60, 60),
        unstaffed_minutes=0.0,
        patrol_days=Ratio(150, 150),
        patrols=Ratio(750, 750),
        alarm_tests=Ratio(4, 4),
        tests_passed=4,
        tests_failed=0,
        alarms=0,
        alarms_acknowledged=0,
        alarms_escalated=0,
        ack_median_s=None,
        ack_max_s=None,
        hazards_opened=0,
        hazards_closed=0,
        hazards_open=0,
        hazards_overdue=0,
        indicators=dict(ALL_MET),
    )
    return replace(base, **figures)  # type: ignore[arg-type]


YUCAI = school_month(
    "s-yucai",
    "育才小学",
    "城关区",
    gate_days=Ratio(58, 60),
    unstaffed_minutes=42.5,
    patrol_days=Ratio(147, 150),
    patrols=Ratio(741, 750),
    alarms=2,
    alarms_acknowledged=2,
    ack_median_s=12.5,
    ack_max_s=20.0,
    hazards_opened=3,
    hazards_closed=2,
    hazards_open=1,
)
SHIYAN = school_month(
    "s-shiyan",
    "实验中学",
    "城关区",
    day_pupils=1500,
    guards=4,
    guards_full_time=3,
    guards_required=4,
    guards_over_age=1,
    guards_trained_this_quarter=2,
    gate_days=Ratio(30, 30),
    alarm_tests=Ratio(2, 3),
    tests_passed=2,
    tests_failed=1,
    alarms=1,
    alarms_acknowledged=0,
    alarms_escalated=1,
    hazards_opened=5,
    hazards_closed=1,
    hazards_open=4,
    hazards_overdue=2,
    indicators={**ALL_MET, Indicator.FULL_TIME_GUARDS: False},
)
XIANGYANG = school_month(
    "k-xiangyang",
    "向阳幼儿园",
    "高新区",
    day_pupils=200,
    guards=2,
    guards_full_time=2,
    guards_trained_this_quarter=2,
    gate_days=Ratio(30, 30),
    patrol_days=Ratio(89, 90),
    patrols=Ratio(449, 450),
    alarm_tests=Ratio(1, 1),
    tests_passed=1,
)
# A school just added: nothing configured, nothing judged, no indicator recorded.
UNCONFIGURED = school_month(
    "s-xinjian",
    "新建学校",
    None,
    day_pupils=None,
    guards=0,
    guards_full_time=0,
    guards_required=0,
    guards_trained_this_quarter=0,
    gate_days=Ratio(0, 0),
    patrol_days=Ratio(0, 0),
    patrols=Ratio(0, 0),
    alarm_tests=Ratio(0, 0),
    tests_passed=0,
    indicators={},
)
SCHOOLS = (YUCAI, SHIYAN, XIANGYANG, UNCONFIGURED)


def area_of(district: str | None, schools: Sequence[SchoolMonth]) -> AreaMonth:
    medians = [s.ack_median_s for s in schools if s.ack_median_s is not None]
    maxima = [s.ack_max_s for s in schools if s.ack_max_s is not None]
    zero = Ratio(0, 0)
    return AreaMonth(
        district=district,
        schools=len(schools),
        guards=sum(s.guards for s in schools),
        guards_full_time=sum(s.guards_full_time for s in schools),
        guards_required=sum(s.guards_required for s in schools),
        guards_over_age=sum(s.guards_over_age for s in schools),
        gate_days=sum((s.gate_days for s in schools), zero),
        patrol_days=sum((s.patrol_days for s in schools), zero),
        alarm_tests=sum((s.alarm_tests for s in schools), zero),
        tests_passed=sum(s.tests_passed for s in schools),
        tests_failed=sum(s.tests_failed for s in schools),
        alarms=sum(s.alarms for s in schools),
        alarms_acknowledged=sum(s.alarms_acknowledged for s in schools),
        alarms_escalated=sum(s.alarms_escalated for s in schools),
        ack_median_s=sorted(medians)[len(medians) // 2] if medians else None,
        ack_max_s=max(maxima) if maxima else None,
        hazards_opened=sum(s.hazards_opened for s in schools),
        hazards_closed=sum(s.hazards_closed for s in schools),
        hazards_open=sum(s.hazards_open for s in schools),
        indicators={
            i: Ratio(sum(s.indicators.get(i, False) for s in schools), len(schools))
            for i in Indicator
        },
    )


def report_of(
    schools: Sequence[SchoolMonth], *, audit_head: AuditHead | None = AUDIT_HEAD
) -> MonthlyReport:
    districts = sorted({s.district for s in schools if s.district is not None})
    return MonthlyReport(
        month=MONTH,
        timezone=TIMEZONE,
        generated_at=GENERATED_AT,
        schools=tuple(schools),
        districts=tuple(area_of(d, [s for s in schools if s.district == d]) for d in districts),
        total=area_of(None, schools),
        audit_head=audit_head,
    )


def sample_report(*, audit_head: AuditHead | None = AUDIT_HEAD) -> MonthlyReport:
    return report_of(SCHOOLS, audit_head=audit_head)


def empty_report() -> MonthlyReport:
    return report_of((), audit_head=None)


def large_report(count: int) -> MonthlyReport:
    """`count` schools over five districts, every tenth missing a gate-day."""
    schools = [
        school_month(
            f"s-{index:04d}",
            f"第{index}实验学校",
            f"第{index % 5 + 1}区",
            gate_days=Ratio(59 if index % 10 == 0 else 60, 60),
        )
        for index in range(1, count + 1)
    ]
    return report_of(schools)
