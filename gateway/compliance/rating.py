"""The quarterly school rating (安全评级: 示范 / 达标 / 不合格), re-judged every quarter so a
school can move up or down (等级可升可降动态管理): a pure rule over a school's monthly
figures and the configured thresholds (`rules.rating`, docs/rating.md).

- The ratios are summed over the quarter's months rated (gate-days, key checkpoint-days,
  button-months tested, alarms acknowledged by the police), so a month with more to judge
  weighs more; a ratio with nothing to judge is met (not applicable).
- "4个100%", when a level asks for it, must hold at the end of every month rated.
- Overdue hidden dangers are those of the last month rated: what is still past its deadline
  now, not what was late and has since been fed back.
- A school is 示范 when it meets every threshold of `demonstration`, else 达标 when it meets
  every one of `passing`, else 不合格. The reasons say why not the level above.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from gateway.errors import GatewayError
from gateway.reports.labels import percent_text, threshold_text
from gateway.reports.model import Ratio, SchoolMonth
from gateway.settings import RatingLevelThresholds, RatingRules

__all__ = [
    "ITEM_TEXT",
    "RATING_TEXT",
    "PeriodError",
    "QuarterFigures",
    "RatingChange",
    "RatingInputError",
    "RatingItem",
    "RatingLevel",
    "SchoolRating",
    "Shortfall",
    "level_shortfalls",
    "parse_quarter",
    "previous_quarter",
    "quarter_figures",
    "quarter_of_month",
    "rate_school",
    "rating_change",
]


class PeriodError(GatewayError, ValueError):
    """A quarter or a month that is not written as expected (YYYY-Qn, YYYY-MM)."""


class RatingInputError(GatewayError, ValueError):
    """The months given cannot be rated together (none, more than a quarter's, two schools)."""


class RatingLevel(StrEnum):
    DEMONSTRATION = "demonstration"
    PASSING = "passing"
    FAILING = "failing"


RATING_TEXT = {
    RatingLevel.DEMONSTRATION: "示范",
    RatingLevel.PASSING: "达标",
    RatingLevel.FAILING: "不合格",
}
_RANK = {RatingLevel.FAILING: 0, RatingLevel.PASSING: 1, RatingLevel.DEMONSTRATION: 2}


class RatingChange(StrEnum):
    UP = "up"
    DOWN = "down"
    SAME = "same"
    NEW = "new"  # no rating the quarter before


def rating_change(previous: RatingLevel | None, current: RatingLevel) -> RatingChange:
    if previous is None:
        return RatingChange.NEW
    if _RANK[current] > _RANK[previous]:
        return RatingChange.UP
    if _RANK[current] < _RANK[previous]:
        return RatingChange.DOWN
    return RatingChange.SAME


# --- quarters ------------------------------------------------------------------------------

# Matched whole (`fullmatch`: "$" would let a trailing newline through); [0-9] because \d
# also takes full-width and other scripts' digits.
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


def parse_quarter(text: str) -> tuple[str, str, str]:
    """The three months (YYYY-MM) of a quarter written YYYY-Qn: "2026-Q4" → 2026-10..12."""
    year, quarter = _quarter_parts(text)
    first = 3 * (quarter - 1) + 1
    return (f"{year:04d}-{first:02d}", f"{year:04d}-{first + 1:02d}", f"{year:04d}-{first + 2:02d}")


def quarter_of_month(month: str) -> str:
    """The quarter (YYYY-Qn) a month (YYYY-MM) belongs to."""
    match = _MONTH.fullmatch(month)
    if match is None or int(match.group(1)) == 0:
        raise PeriodError(f"{month!r} is not a month: expected YYYY-MM, e.g. 2026-11")
    return f"{match.group(1)}-Q{(int(match.group(2)) - 1) // 3 + 1}"


def previous_quarter(quarter: str) -> str:
    year, number = _quarter_parts(quarter)
    if number > 1:
        return f"{year:04d}-Q{number - 1}"
    if year == 1:
        raise PeriodError(f"{quarter!r} has no quarter before it")
    return f"{year - 1:04d}-Q4"


def _quarter_parts(text: str) -> tuple[int, int]:
    match = _QUARTER.fullmatch(text)
    if match is None or int(match.group(1)) == 0:
        raise PeriodError(
            f"{text!r} is not a quarter: expected YYYY-Qn with n from 1 to 4, e.g. 2026-Q4"
        )
    return int(match.group(1)), int(match.group(2))


# --- the rating ----------------------------------------------------------------------------


class RatingItem(StrEnum):
    GATE_DAYS = "gate_days"
    PATROL_DAYS = "patrol_days"
    ALARM_TESTS = "alarm_tests"
    POLICE_ACK = "police_ack"
    FOUR_100 = "four_100"
    OVERDUE_HAZARDS = "overdue_hazards"


ITEM_TEXT = {
    RatingItem.GATE_DAYS: "校门值守达标日",
    RatingItem.PATROL_DAYS: "重点部位巡查达标日",
    RatingItem.ALARM_TESTS: "一键报警月度测试",
    RatingItem.POLICE_ACK: "报警公安确认",
    RatingItem.FOUR_100: "4个100%",
    RatingItem.OVERDUE_HAZARDS: "逾期未反馈隐患",
}
_RATIO_ITEMS = (
    RatingItem.GATE_DAYS,
    RatingItem.PATROL_DAYS,
    RatingItem.ALARM_TESTS,
    RatingItem.POLICE_ACK,
)


@dataclass(frozen=True, slots=True)
class Shortfall:
    """One threshold of `level` not reached. Ratios: `needed` and `got` are shares (0..1);
    4个100%: months needed and months met; overdue hazards: the most allowed and the count."""

    item: RatingItem
    needed: float
    got: float
    level: RatingLevel


@dataclass(frozen=True, slots=True)
class QuarterFigures:
    """A school's months of a quarter, summed: what its rating is judged on."""

    school_id: str
    gate_days: Ratio
    patrol_days: Ratio
    alarm_tests: Ratio
    police_ack: Ratio
    four_100_months: int  # months rated that met all four indicators
    months_rated: int
    overdue_hazards: int  # at the end of the last month rated

    def ratio(self, item: RatingItem) -> Ratio:
        ratios = {
            RatingItem.GATE_DAYS: self.gate_days,
            RatingItem.PATROL_DAYS: self.patrol_days,
            RatingItem.ALARM_TESTS: self.alarm_tests,
            RatingItem.POLICE_ACK: self.police_ack,
        }
        return ratios[item]


@dataclass(frozen=True, slots=True)
class SchoolRating:
    school_id: str
    quarter: str  # YYYY-Qn
    level: RatingLevel
    reasons: tuple[str, ...]  # why not the level above, in Chinese
    shortfalls: tuple[Shortfall, ...]  # the same, for programs
    gate_days: Ratio
    patrol_days: Ratio
    alarm_tests: Ratio
    police_ack: Ratio
    four_100_months: int
    months_rated: int
    overdue_hazards: int


def quarter_figures(months: Sequence[SchoolMonth]) -> QuarterFigures:
    """Sum a school's months of one quarter, given in calendar order (1 to 3 of them)."""
    if not 1 <= len(months) <= 3:
        raise RatingInputError(f"a quarter is rated on 1 to 3 of its months, got {len(months)}")
    schools = {month.school_id for month in months}
    if len(schools) != 1:
        raise RatingInputError(f"the months belong to several schools: {sorted(schools)}")
    zero = Ratio(0, 0)
    return QuarterFigures(
        school_id=months[0].school_id,
        gate_days=sum((m.gate_days for m in months), zero),
        patrol_days=sum((m.patrol_days for m in months), zero),
        alarm_tests=sum((m.alarm_tests for m in months), zero),
        police_ack=sum((m.police_ack for m in months), zero),
        four_100_months=sum(1 for m in months if m.four_100),
        months_rated=len(months),
        overdue_hazards=months[-1].hazards_overdue,
    )


def rate_school(months: Sequence[SchoolMonth], rules: RatingRules, *, quarter: str) -> SchoolRating:
    """Rate a school on the quarter's months that have begun, in calendar order (1 to 3)."""
    parse_quarter(quarter)
    figures = quarter_figures(months)
    demonstration = level_shortfalls(figures, rules.demonstration, RatingLevel.DEMONSTRATION)
    passing = level_shortfalls(figures, rules.passing, RatingLevel.PASSING)
    missed: tuple[Shortfall, ...]  # of the level above the one reached
    if not demonstration:
        level, missed = RatingLevel.DEMONSTRATION, ()
    elif not passing:
        level, missed = RatingLevel.PASSING, demonstration
    else:
        level, missed = RatingLevel.FAILING, passing
    return SchoolRating(
        school_id=figures.school_id,
        quarter=quarter,
        level=level,
        reasons=tuple(_reason(shortfall, figures) for shortfall in missed),
        shortfalls=missed,
        gate_days=figures.gate_days,
        patrol_days=figures.patrol_days,
        alarm_tests=figures.alarm_tests,
        police_ack=figures.police_ack,
        four_100_months=figures.four_100_months,
        months_rated=figures.months_rated,
        overdue_hazards=figures.overdue_hazards,
    )


def level_shortfalls(
    figures: QuarterFigures, thresholds: RatingLevelThresholds, level: RatingLevel
) -> tuple[Shortfall, ...]:
    """What the quarter's figures miss of one level's thresholds; empty when it is met."""
    missed: list[Shortfall] = []
    for item in _RATIO_ITEMS:
        ratio, needed = figures.ratio(item), float(getattr(thresholds, item.value))
        value = ratio.value
        if value is None and item is RatingItem.ALARM_TESTS:
            # No button at all: every school must have one-touch alarms networked with the
            # police, so there is nothing "not applicable" about it.
            missed.append(Shortfall(item, needed, 0.0, level))
        elif value is not None and not ratio.meets(needed):
            missed.append(Shortfall(item, needed, value, level))
    if thresholds.four_100 and figures.four_100_months < figures.months_rated:
        missed.append(
            Shortfall(RatingItem.FOUR_100, figures.months_rated, figures.four_100_months, level)
        )
    if figures.overdue_hazards > thresholds.max_overdue_hazards:
        most = thresholds.max_overdue_hazards
        missed.append(Shortfall(RatingItem.OVERDUE_HAZARDS, most, figures.overdue_hazards, level))
    return tuple(missed)


def _reason(shortfall: Shortfall, figures: QuarterFigures) -> str:
    item, level = shortfall.item, RATING_TEXT[shortfall.level]
    if item is RatingItem.FOUR_100:
        return (
            f"{ITEM_TEXT[item]}：{figures.months_rated}个月中{figures.four_100_months}个月达到，"
            f"{level}需每月达到"
        )
    if item is RatingItem.OVERDUE_HAZARDS:
        most = int(shortfall.needed)
        return f"{ITEM_TEXT[item]} {figures.overdue_hazards} 项，{level}需 ≤ {most} 项"
    if item is RatingItem.ALARM_TESTS and figures.alarm_tests.required == 0:
        return f"未配备一键报警装置，{level}需每所学校配备并每月测试"
    got = percent_text(figures.ratio(item))  # cut like the report: 98.96% reads 98.9%
    return f"{ITEM_TEXT[item]} {got}，{level}需 ≥ {threshold_text(shortfall.needed)}"
