"""One school's month from the rules' judgements: every figure of `SchoolMonth`, and one
school's calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.compliance.alarm_tests import ButtonMonth, Receipt, TestRecord, judge_button_month
from gateway.compliance.gate_staffing import GateDay, StaffingReport, StaffingSource, judge_gate_day
from gateway.compliance.guards import GuardRecord, judge_school_guards
from gateway.compliance.patrols import PatrolDay, ScanRecord, judge_patrol_day
from gateway.reports.alarms import AlarmFigures
from gateway.reports.calendar import CalendarDay, school_calendar
from gateway.reports.figures import SchoolFacts, school_month
from gateway.reports.hazards import HazardFigures
from gateway.reports.model import Indicator, Ratio
from gateway.settings import School

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = (date(2026, 9, 1), date(2026, 9, 2))
SCHOOL = School.model_validate(
    {
        "id": "s1",
        "name": "东关中学",
        "district": "城关区",
        "day_pupils": 150,
        "alarm_buttons": [
            {"id": "b1", "location": "门卫室", "zone": 1},
            {"id": "b2", "location": "办公室", "zone": 2},
        ],
        "gates": [{"id": "g1", "name": "北门"}],
        "checkpoints": [{"id": "cp1", "name": "宿舍楼", "key_area": True}],
    }
)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def gate_days() -> tuple[GateDay, ...]:
    # Staffed from before the first day; on the second, 20 minutes empty at noon.
    reports = [
        StaffingReport(local(DAYS[0], 0) - timedelta(hours=1), True, StaffingSource.MQTT, 1),
        StaffingReport(local(DAYS[1], 12), False, StaffingSource.MQTT, 2),
        StaffingReport(local(DAYS[1], 12, 20), True, StaffingSource.MQTT, 3),
    ]
    return tuple(
        judge_gate_day(reports, day=day, tz=SHANGHAI, now=NOW, max_unstaffed_s=600) for day in DAYS
    )


def patrol_days() -> tuple[PatrolDay, ...]:
    # Day 1: 7 patrols (2 more than due); day 2: 3 (2 short).
    counts = {DAYS[0]: 7, DAYS[1]: 3}
    judged = []
    for day, count in counts.items():
        scans = [
            ScanRecord(local(day, 2 * n + 1), "guard-li", "reader", 100 * day.day + n)
            for n in range(count)
        ]
        judged.append(
            judge_patrol_day(scans, day=day, tz=SHANGHAI, now=NOW, required=5, min_spacing_s=3600)
        )
    return tuple(judged)


def buttons() -> tuple[ButtonMonth, ...]:
    passed = TestRecord(
        "t1",
        local(DAYS[0], 10),
        local(DAYS[0], 10),
        (Receipt("110", local(DAYS[0], 10) + timedelta(seconds=2), 2.0),),
    )
    failed = TestRecord("t2", local(DAYS[1], 10), local(DAYS[1], 10), (Receipt("110", None, None),))
    months = []
    for records in ([passed], [failed]):
        months.append(
            judge_button_month(
                records,
                month=date(2026, 9, 1),
                tz=SHANGHAI,
                now=NOW,
                required=1,
                pending_s=60,
                remind_days=3,
            )
        )
    return tuple(months)


def facts(**changes: object) -> SchoolFacts:
    guards = judge_school_guards(
        [
            GuardRecord("a", "甲", date(1980, 1, 1), True, (date(2026, 9, 1),)),
            GuardRecord("b", "乙", date(1960, 1, 1), True, (date(2026, 5, 1),)),  # 66
            GuardRecord("c", "丙", date(1990, 1, 1), False, ()),
        ],
        today=DAYS[-1],
        pupils=150,
    )
    base = {
        "school": SCHOOL,
        "guards": guards,
        "guards_floor": 1,
        "gate_days": gate_days(),
        "patrol_days": patrol_days(),
        "buttons": buttons(),
        "alarms": AlarmFigures(alarms=3, acknowledged=2, escalated=1, latencies_s=(1.0, 5.0)),
        "reached_police": frozenset({"b1", "b2"}),
        "hazards": HazardFigures(opened=2, closed=1, open=3, overdue=1),
        "offline_cameras": frozenset(),
        "primary_endpoints": 1,
    }
    return SchoolFacts(**(base | changes))  # type: ignore[arg-type]


def test_every_figure_of_a_schools_month() -> None:
    judged = school_month(facts())
    month = judged.month
    assert (month.school_id, month.school_name, month.district, month.day_pupils) == (
        "s1",
        "东关中学",
        "城关区",
        150,
    )
    # 3 on the roster, 2 full-time of the 2 needed from 100 pupils, 1 over 60, 1 trained
    # this quarter (b's training was last quarter: a reminder, not yet a breach).
    assert (month.guards, month.guards_full_time, month.guards_required) == (3, 2, 2)
    assert (month.guards_over_age, month.guards_trained_this_quarter) == (1, 1)
    assert month.gate_days == Ratio(1, 2)
    assert month.unstaffed_minutes == 20.0
    assert month.patrol_days == Ratio(1, 2)
    assert month.patrols == Ratio(5 + 3, 10)  # the 2 extra on day 1 do not fill day 2
    assert month.alarm_tests == Ratio(1, 2)
    assert (month.tests_passed, month.tests_failed) == (1, 1)
    assert (month.alarms, month.alarms_acknowledged, month.alarms_escalated) == (3, 2, 1)
    assert (month.ack_median_s, month.ack_max_s) == (3.0, 5.0)
    assert month.police_ack == Ratio(2, 3)
    assert (month.hazards_opened, month.hazards_closed) == (2, 1)
    assert (month.hazards_open, month.hazards_overdue) == (3, 1)
    assert month.indicators == {
        Indicator.FULL_TIME_GUARDS: False,  # b is over age
        Indicator.CLOSED_MANAGEMENT: False,  # the 20 minutes on day 2
        Indicator.ALARM_NETWORKED: True,
        Indicator.VIDEO_NETWORKED: False,  # no camera
    }
    assert judged.ack_latencies_s == (1.0, 5.0)


def test_unknown_pupils_show_the_least_any_school_needs() -> None:
    unknown = judge_school_guards([], today=DAYS[-1], pupils=None)
    month = school_month(facts(guards=unknown, guards_floor=1)).month
    assert (month.guards, month.guards_required) == (0, 1)
    assert month.indicators[Indicator.FULL_TIME_GUARDS] is False


def test_a_schools_calendar() -> None:
    gates = gate_days()
    patrols = patrol_days()
    calendar = school_calendar(
        SCHOOL,
        DAYS,
        today=DAYS[1],
        gate_days={"g1": gates},
        patrol_days={"cp1": patrols},
        emergencies={DAYS[1]: 2},
        buttons=buttons(),
    )
    assert calendar.alarm_tests == Ratio(1, 2)
    assert calendar.days == (
        CalendarDay(DAYS[0], Ratio(1, 1), Ratio(1, 1), 0, partial=False),
        CalendarDay(DAYS[1], Ratio(0, 1), Ratio(0, 1), 2, partial=True),
    )


def test_a_school_without_gates_or_key_checkpoints_has_nothing_to_show_for_them() -> None:
    bare = School.model_validate({"id": "s2", "name": "实验幼儿园"})
    calendar = school_calendar(
        bare,
        DAYS,
        today=date(2026, 10, 1),
        gate_days={},
        patrol_days={},
        emergencies={},
        buttons=(),
    )
    assert [(d.gate, d.patrols, d.alarms, d.partial) for d in calendar.days] == [
        (None, None, 0, False),
        (None, None, 0, False),
    ]
    assert calendar.alarm_tests == Ratio(0, 0)
