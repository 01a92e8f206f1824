"""What the monthly report holds: one `SchoolMonth` per school, totals per district and for
the whole site. Plain values, computed by `gateway.reports.figures` and rendered as JSON, CSV,
XLSX and PDF by the `render_*` modules; the quarterly rating reads three months of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Ratio:
    """`done` of `required`; `value` is None when nothing was required (not applicable)."""

    done: int
    required: int

    @property
    def value(self) -> float | None:
        return None if self.required == 0 else self.done / self.required

    def meets(self, threshold: float) -> bool:
        """True when not applicable, or when the share reaches `threshold`."""
        value = self.value
        return value is None or value >= threshold

    def __add__(self, other: Ratio) -> Ratio:
        return Ratio(self.done + other.done, self.required + other.required)


class Indicator(StrEnum):
    """The "4个100%" indicators of the campaign plan."""

    FULL_TIME_GUARDS = "full_time_guards"  # 专职保安员配备率100%
    CLOSED_MANAGEMENT = "closed_management"  # 封闭化管理率100%
    ALARM_NETWORKED = "alarm_networked"  # 一键式紧急报警装置与公安联网率100%
    VIDEO_NETWORKED = "video_networked"  # 视频监控系统与公安联网率100%


INDICATOR_TEXT = {
    Indicator.FULL_TIME_GUARDS: "专职保安员配备",
    Indicator.CLOSED_MANAGEMENT: "封闭化管理",
    Indicator.ALARM_NETWORKED: "一键报警与公安联网",
    Indicator.VIDEO_NETWORKED: "视频监控与公安联网",
}


@dataclass(frozen=True, slots=True)
class SchoolMonth:
    """One school's month, judged by the site's local calendar."""

    school_id: str
    school_name: str
    district: str | None
    day_pupils: int | None
    # Guards (保安员): on the roster; full-time; the minimum for the pupils; over the age
    # limit; trained in the quarter the month belongs to.
    guards: int
    guards_full_time: int
    guards_required: int
    guards_over_age: int
    guards_trained_this_quarter: int
    # Gate staffing (24小时值守): gate-days compliant of gate-days judged; unstaffed minutes.
    gate_days: Ratio
    unstaffed_minutes: float
    # Patrols (每日不少于5次巡查): key checkpoint-days compliant of those judged; patrols
    # counted of those required.
    patrol_days: Ratio
    patrols: Ratio
    # Alarm tests (每月至少测试1次): buttons tested (compliant) of buttons; tests passed and
    # failed (no police receipt) in the month.
    alarm_tests: Ratio
    tests_passed: int
    tests_failed: int
    # Alarms (emergencies, not tests) and how fast the police acknowledged them.
    alarms: int
    alarms_acknowledged: int
    alarms_escalated: int
    ack_median_s: float | None
    ack_max_s: float | None
    # Hidden dangers (隐患): opened and closed (fed back) in the month, open at its end, and
    # of those open, past their deadline.
    hazards_opened: int
    hazards_closed: int
    hazards_open: int
    hazards_overdue: int
    # The "4个100%" indicators at the month's end, each True / False.
    indicators: dict[Indicator, bool]

    @property
    def police_ack(self) -> Ratio:
        return Ratio(self.alarms_acknowledged, self.alarms)

    @property
    def four_100(self) -> bool:
        return all(self.indicators.get(indicator, False) for indicator in Indicator)


@dataclass(frozen=True, slots=True)
class AreaMonth:
    """Totals over a set of schools: a district, or the whole site (`district` None)."""

    district: str | None
    schools: int
    guards: int
    guards_full_time: int
    guards_required: int
    guards_over_age: int
    gate_days: Ratio
    patrol_days: Ratio
    alarm_tests: Ratio
    tests_passed: int
    tests_failed: int
    alarms: int
    alarms_acknowledged: int
    alarms_escalated: int
    ack_median_s: float | None
    ack_max_s: float | None
    hazards_opened: int
    hazards_closed: int
    hazards_open: int
    # Per indicator: schools meeting it of the schools (the "100%" is done == required).
    indicators: dict[Indicator, Ratio]


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The tamper-evident log's last sealed entry when the report was made: printed on the
    report so that a later `audit verify` can show the log still holds it."""

    seq: int
    hash: str


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    month: str  # YYYY-MM
    timezone: str
    generated_at: datetime  # UTC
    schools: tuple[SchoolMonth, ...]
    districts: tuple[AreaMonth, ...]
    total: AreaMonth
    audit_head: AuditHead | None
    # Only some of the site's schools (the account's scope): `total` is theirs, not the city's.
    partial: bool = False
