"""The monthly report's Chinese column titles and how each value reads: the one source the
CSV, XLSX and PDF renderers share, so a figure has the same name and the same digits in all
three.

- A ratio (`Ratio`) is three columns: done, required and the rate. The rate is cut, never
  rounded, to one decimal (99.96% reads 99.9%), so "100%" always means every one; a ratio
  with nothing required reads "—" (not applicable).
- A school's "4个100%" indicator reads 是/否; an area's reads "3/4所" (schools meeting of
  schools: the suffix keeps spreadsheets from taking "3/4" for a date).
- Dot decimals, no thousands separators: the CSV is read by programs too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from gateway.errors import ConfigError
from gateway.reports.model import (
    INDICATOR_TEXT,
    AreaMonth,
    AuditHead,
    Indicator,
    MonthlyReport,
    Ratio,
    SchoolMonth,
)

REPORT_TITLE = "校园安全月报"
NOT_APPLICABLE = "—"
YES, NO = "是", "否"
NO_DISTRICT = "未填区县"
FOUR_100_TITLE = "4个100%"

LEVEL_TITLE = "层级"
DISTRICT_TITLE = "区县"
SCHOOL_ID_TITLE = "学校编号"
SCHOOL_NAME_TITLE = "学校名称"
IDENTITY_TITLES = (LEVEL_TITLE, DISTRICT_TITLE, SCHOOL_ID_TITLE, SCHOOL_NAME_TITLE)

MONTH_TITLE = "统计月份"
TIMEZONE_TITLE = "时区"
GENERATED_TITLE = "生成时间"
AUDIT_TITLE = "日志链头"


class RowLevel(StrEnum):
    SCHOOL = "school"
    DISTRICT = "district"
    SITE = "site"


LEVEL_TEXT = {RowLevel.SCHOOL: "学校", RowLevel.DISTRICT: "区县", RowLevel.SITE: "全市"}
PARTIAL_TOTAL_TEXT = "合计"  # the total of a report of some schools only: not the city's


class CellKind(StrEnum):
    """How a column's values read; the renderers turn each kind into text or a number."""

    COUNT = "count"  # int, or None when unknown
    DECIMAL = "decimal"  # float with one decimal, or None (no alarm, nothing measured)
    RATE = "rate"  # a Ratio shown as its percentage
    FRACTION = "fraction"  # a Ratio shown as done/required and percentage in one cell
    INDICATOR = "indicator"  # bool (a school: 是/否) or Ratio (an area: schools meeting)


Cell = str | int | float | bool | Ratio | None


@dataclass(frozen=True, slots=True)
class Column:
    """A column and how to read it off a school's month and off an area's (None: blank)."""

    title: str
    kind: CellKind
    of_school: Callable[[SchoolMonth], Cell] | None = None
    of_area: Callable[[AreaMonth], Cell] | None = None


@dataclass(frozen=True, slots=True)
class RatioFigure:
    """A ratio and its three column titles, plus the short title of its one-cell form."""

    short_title: str
    done_title: str
    required_title: str
    rate_title: str
    of_school: Callable[[SchoolMonth], Ratio] | None
    of_area: Callable[[AreaMonth], Ratio] | None

    def columns(self) -> tuple[Column, Column, Column]:
        return (
            self._part(self.done_title, attrgetter("done")),
            self._part(self.required_title, attrgetter("required")),
            Column(self.rate_title, CellKind.RATE, self.of_school, self.of_area),
        )

    def compact(self) -> Column:
        return Column(self.short_title, CellKind.FRACTION, self.of_school, self.of_area)

    def _part(self, title: str, part: Callable[[Ratio], int]) -> Column:
        school, area = self.of_school, self.of_area
        return Column(
            title,
            CellKind.COUNT,
            None if school is None else _school_part(school, part),
            None if area is None else _area_part(area, part),
        )


def _school_part(
    ratio_of: Callable[[SchoolMonth], Ratio], part: Callable[[Ratio], int]
) -> Callable[[SchoolMonth], Cell]:
    return lambda school: part(ratio_of(school))


def _area_part(
    ratio_of: Callable[[AreaMonth], Ratio], part: Callable[[Ratio], int]
) -> Callable[[AreaMonth], Cell]:
    return lambda area: part(ratio_of(area))


def area_police_ack(area: AreaMonth) -> Ratio:
    return Ratio(area.alarms_acknowledged, area.alarms)


def area_indicator(area: AreaMonth, indicator: Indicator) -> Ratio:
    return area.indicators.get(indicator, Ratio(0, 0))


def area_four_100(area: AreaMonth) -> bool | None:
    """Every school of the area meets each indicator; None (not applicable) with no school."""
    ratios = [area_indicator(area, indicator) for indicator in Indicator]
    if all(r.required == 0 for r in ratios):
        return None
    return all(r.required > 0 and r.done == r.required for r in ratios)


GATE_DAYS = RatioFigure(
    "校门值守（门日）",
    "校门值守达标（门日）",
    "校门值守应判（门日）",
    "校门值守达标率（%）",
    lambda s: s.gate_days,
    lambda a: a.gate_days,
)
PATROL_DAYS = RatioFigure(
    "重点部位巡查（点日）",
    "重点部位巡查达标（点日）",
    "重点部位巡查应判（点日）",
    "重点部位巡查达标率（%）",
    lambda s: s.patrol_days,
    lambda a: a.patrol_days,
)
PATROLS = RatioFigure(
    "巡查次数",
    "巡查次数",
    "应巡查次数",
    "巡查完成率（%）",
    lambda s: s.patrols,
    None,
)
ALARM_TESTS = RatioFigure(
    "报警装置测试",
    "已测试报警装置（个）",
    "一键报警装置（个）",
    "报警装置测试率（%）",
    lambda s: s.alarm_tests,
    lambda a: a.alarm_tests,
)
POLICE_ACK = RatioFigure(
    "公安确认报警",
    "公安确认报警（次）",
    "紧急报警（次）",
    "公安确认率（%）",
    lambda s: s.police_ack,
    area_police_ack,
)

SCHOOLS = Column("学校数", CellKind.COUNT, None, lambda a: a.schools)
DAY_PUPILS = Column("在校生数", CellKind.COUNT, lambda s: s.day_pupils, None)
GUARDS = Column("保安员", CellKind.COUNT, lambda s: s.guards, lambda a: a.guards)
GUARDS_FULL_TIME = Column(
    "专职保安员", CellKind.COUNT, lambda s: s.guards_full_time, lambda a: a.guards_full_time
)
GUARDS_REQUIRED = Column(
    "应配保安员", CellKind.COUNT, lambda s: s.guards_required, lambda a: a.guards_required
)
GUARDS_OVER_AGE = Column(
    "超龄保安员", CellKind.COUNT, lambda s: s.guards_over_age, lambda a: a.guards_over_age
)
GUARDS_TRAINED = Column(
    "本季度已培训保安员", CellKind.COUNT, lambda s: s.guards_trained_this_quarter, None
)
UNSTAFFED_MINUTES = Column(
    "校门无人值守（分钟）", CellKind.DECIMAL, lambda s: s.unstaffed_minutes, None
)
TESTS_PASSED = Column(
    "测试成功（次）", CellKind.COUNT, lambda s: s.tests_passed, lambda a: a.tests_passed
)
TESTS_FAILED = Column(
    "测试失败（次）", CellKind.COUNT, lambda s: s.tests_failed, lambda a: a.tests_failed
)
ALARMS_ESCALATED = Column(
    "报警升级（次）", CellKind.COUNT, lambda s: s.alarms_escalated, lambda a: a.alarms_escalated
)
ACK_MEDIAN = Column(
    "确认用时中位数（秒）", CellKind.DECIMAL, lambda s: s.ack_median_s, lambda a: a.ack_median_s
)
ACK_MAX = Column(
    "确认用时最长（秒）", CellKind.DECIMAL, lambda s: s.ack_max_s, lambda a: a.ack_max_s
)
HAZARDS_OPENED = Column(
    "新增隐患", CellKind.COUNT, lambda s: s.hazards_opened, lambda a: a.hazards_opened
)
HAZARDS_CLOSED = Column(
    "已反馈隐患", CellKind.COUNT, lambda s: s.hazards_closed, lambda a: a.hazards_closed
)
HAZARDS_OPEN = Column(
    "未闭环隐患", CellKind.COUNT, lambda s: s.hazards_open, lambda a: a.hazards_open
)
HAZARDS_OVERDUE = Column("逾期隐患", CellKind.COUNT, lambda s: s.hazards_overdue, None)


def indicator_column(indicator: Indicator) -> Column:
    return Column(
        INDICATOR_TEXT[indicator],
        CellKind.INDICATOR,
        lambda s: s.indicators.get(indicator, False),
        lambda a: area_indicator(a, indicator),
    )


FOUR_100 = Column(FOUR_100_TITLE, CellKind.INDICATOR, lambda s: s.four_100, area_four_100)
INDICATOR_COLUMNS = (*(indicator_column(i) for i in Indicator), FOUR_100)

# Every figure, in the order of the police monthly statistics form: guards, gates, patrols,
# alarm tests, alarms, hidden dangers, then the "4个100%".
FIGURE_COLUMNS: tuple[Column, ...] = (
    SCHOOLS,
    DAY_PUPILS,
    GUARDS,
    GUARDS_FULL_TIME,
    GUARDS_REQUIRED,
    GUARDS_OVER_AGE,
    GUARDS_TRAINED,
    *GATE_DAYS.columns(),
    UNSTAFFED_MINUTES,
    *PATROL_DAYS.columns(),
    *PATROLS.columns(),
    *ALARM_TESTS.columns(),
    TESTS_PASSED,
    TESTS_FAILED,
    *POLICE_ACK.columns(),
    ALARMS_ESCALATED,
    ACK_MEDIAN,
    ACK_MAX,
    HAZARDS_OPENED,
    HAZARDS_CLOSED,
    HAZARDS_OPEN,
    HAZARDS_OVERDUE,
    *INDICATOR_COLUMNS,
)


def area_indicator_columns(indicator: Indicator) -> tuple[Column, Column]:
    """An area's indicator as numbers: the schools meeting it and their rate."""
    text = INDICATOR_TEXT[indicator]
    return (
        Column(
            f"{text}（达标学校）", CellKind.COUNT, None, lambda a: area_indicator(a, indicator).done
        ),
        Column(f"{text}达标率（%）", CellKind.RATE, None, lambda a: area_indicator(a, indicator)),
    )


SCHOOL_COLUMNS = tuple(c for c in FIGURE_COLUMNS if c.of_school is not None)
AREA_COLUMNS = tuple(c for c in FIGURE_COLUMNS if c.of_area is not None)

# The areas' figures with each indicator as two numbers (the spreadsheet's summary).
AREA_NUMBER_COLUMNS: tuple[Column, ...] = (
    *(c for c in AREA_COLUMNS if c.kind is not CellKind.INDICATOR),
    *(column for i in Indicator for column in area_indicator_columns(i)),
    FOUR_100,
)

# The one-page forms of the PDF: a ratio in one cell.
COMPACT_FIGURES: tuple[Column, ...] = (
    GUARDS_FULL_TIME,
    GUARDS_REQUIRED,
    GUARDS_OVER_AGE,
    GATE_DAYS.compact(),
    PATROL_DAYS.compact(),
    ALARM_TESTS.compact(),
    POLICE_ACK.compact(),
    ACK_MEDIAN,
    HAZARDS_OPENED,
    HAZARDS_CLOSED,
    HAZARDS_OPEN,
)


def school_cell(column: Column, school: SchoolMonth) -> Cell:
    return None if column.of_school is None else column.of_school(school)


def area_cell(column: Column, area: AreaMonth) -> Cell:
    return None if column.of_area is None else column.of_area(area)


# --- numbers -------------------------------------------------------------------------------


def rate_permille(ratio: Ratio) -> int | None:
    """The rate in tenths of a percent, cut (integer arithmetic: no float surprises)."""
    if ratio.required == 0:
        return None
    return ratio.done * 1000 // ratio.required


def rate_number(ratio: Ratio) -> float | None:
    """The rate as a fraction cut to one decimal of a percent (0.935 for 93.59%)."""
    permille = rate_permille(ratio)
    return None if permille is None else permille / 1000


def percent_text(ratio: Ratio, *, sign: bool = True) -> str:
    permille = rate_permille(ratio)
    if permille is None:
        return NOT_APPLICABLE
    text = f"{permille // 10}.{permille % 10}"
    return f"{text}%" if sign else text


def threshold_text(threshold: float) -> str:
    """A configured share as a percentage without needless decimals: 0.99 → "99%"."""
    text = f"{threshold * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def decimal_text(value: float | None) -> str:
    return NOT_APPLICABLE if value is None else f"{value:.1f}"


def schools_meeting_text(ratio: Ratio) -> str:
    return NOT_APPLICABLE if ratio.required == 0 else f"{ratio.done}/{ratio.required}所"


def cell_text(kind: CellKind, value: Cell, *, percent_sign: bool = True) -> str:
    """A value as the text the CSV and the PDF show."""
    if value is None:
        return NOT_APPLICABLE
    if isinstance(value, Ratio):
        if kind is CellKind.INDICATOR:
            return schools_meeting_text(value)
        if kind is CellKind.FRACTION:
            rate = percent_text(value)
            return rate if value.required == 0 else f"{value.done}/{value.required} {rate}"
        return percent_text(value, sign=percent_sign)
    if isinstance(value, bool):
        return YES if value else NO
    if isinstance(value, float) or kind is CellKind.DECIMAL:
        return decimal_text(float(value))
    return str(value)


# --- the report's header -------------------------------------------------------------------


def district_text(district: str | None) -> str:
    return NO_DISTRICT if district is None else district


def report_title(report: MonthlyReport) -> str:
    return f"{REPORT_TITLE} {report.month}"


def generated_local_text(report: MonthlyReport) -> str:
    """When the report was made, in the report's time zone ("2026-12-01 08:00 +08:00")."""
    try:
        zone = ZoneInfo(report.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError([f"gateway.timezone: unknown time zone {report.timezone!r}"]) from exc
    generated = report.generated_at
    if generated.tzinfo is None:  # the model keeps UTC; a naive value is UTC too
        generated = generated.replace(tzinfo=UTC)
    local = generated.astimezone(zone)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"


def audit_head_text(head: AuditHead | None) -> str:
    if head is None:
        return ""
    return f"{AUDIT_TITLE} 第{head.seq}条 {head.hash[:16]}…"


def schools_in_order(report: MonthlyReport) -> list[SchoolMonth]:
    """Schools grouped by district in the order of the report's districts, those without a
    district last; the report's order within a group."""
    rank = {area.district: index for index, area in enumerate(report.districts)}
    unknown = len(rank)
    return sorted(
        report.schools,
        key=lambda s: (s.district is None, rank.get(s.district, unknown), s.district or ""),
    )


def level_text(level: RowLevel, report: MonthlyReport) -> str:
    """A row's level as the report names it: the whole site is 全市, unless the report
    covers only the schools an account sees (合计)."""
    if level is RowLevel.SITE and report.partial:
        return PARTIAL_TOTAL_TEXT
    return LEVEL_TEXT[level]


def areas_in_order(report: MonthlyReport) -> Sequence[tuple[RowLevel, AreaMonth]]:
    """The whole site first, then each district."""
    return [(RowLevel.SITE, report.total)] + [(RowLevel.DISTRICT, a) for a in report.districts]
