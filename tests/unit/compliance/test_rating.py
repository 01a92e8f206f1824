"""The quarterly rating 示范 / 达标 / 不合格: every threshold at its edge, not-applicable
ratios, one to three months, the rating change, quarters, and two properties (improving a
figure never lowers the level; demonstration met implies passing met)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.compliance.rating import (
    RATING_TEXT,
    PeriodError,
    QuarterFigures,
    RatingChange,
    RatingInputError,
    RatingItem,
    RatingLevel,
    Shortfall,
    level_shortfalls,
    parse_quarter,
    previous_quarter,
    quarter_figures,
    quarter_of_month,
    rate_school,
    rating_change,
)
from gateway.errors import GatewayError
from gateway.reports.model import Indicator, Ratio, SchoolMonth
from gateway.settings import RatingLevelThresholds, RatingRules
from tests.unit.reports.samples import ALL_MET, school_month

DEMO = RatingLevel.DEMONSTRATION
PASS = RatingLevel.PASSING
FAIL = RatingLevel.FAILING
QUARTER = "2026-Q4"
DEFAULTS = RatingRules()


def month(**figures: object) -> SchoolMonth:
    """A month that meets every demonstration threshold unless `figures` say otherwise."""
    return school_month("s-1", "第一小学", "城关区", **figures)


def rate(*months: SchoolMonth, rules: RatingRules = DEFAULTS) -> RatingLevel:
    return rate_school(months, rules, quarter=QUARTER).level


def test_the_defaults_are_those_documented() -> None:
    """docs/rating.md justifies these numbers: a change here must change it too."""
    assert DEFAULTS.demonstration == RatingLevelThresholds(
        gate_days=0.99,
        patrol_days=0.98,
        alarm_tests=1.0,
        police_ack=1.0,
        four_100=True,
        max_overdue_hazards=0,
    )
    assert DEFAULTS.passing == RatingLevelThresholds(
        gate_days=0.95,
        patrol_days=0.9,
        alarm_tests=1.0,
        police_ack=0.95,
        four_100=False,
        max_overdue_hazards=2,
    )


# One month changed from a perfect one, just below / at / just above each default threshold.
EDGE_CASES: dict[str, tuple[dict[str, object], RatingLevel]] = {
    "perfect": ({}, DEMO),
    "gate below demonstration": ({"gate_days": Ratio(989, 1000)}, PASS),
    "gate at demonstration": ({"gate_days": Ratio(990, 1000)}, DEMO),
    "gate above demonstration": ({"gate_days": Ratio(991, 1000)}, DEMO),
    "gate below passing": ({"gate_days": Ratio(949, 1000)}, FAIL),
    "gate at passing": ({"gate_days": Ratio(950, 1000)}, PASS),
    "gate above passing": ({"gate_days": Ratio(951, 1000)}, PASS),
    "gate 99 of 100": ({"gate_days": Ratio(99, 100)}, DEMO),
    "gate 19 of 20": ({"gate_days": Ratio(19, 20)}, PASS),
    "patrol below demonstration": ({"patrol_days": Ratio(979, 1000)}, PASS),
    "patrol at demonstration": ({"patrol_days": Ratio(980, 1000)}, DEMO),
    "patrol above demonstration": ({"patrol_days": Ratio(981, 1000)}, DEMO),
    "patrol below passing": ({"patrol_days": Ratio(899, 1000)}, FAIL),
    "patrol at passing": ({"patrol_days": Ratio(900, 1000)}, PASS),
    "patrol above passing": ({"patrol_days": Ratio(901, 1000)}, PASS),
    "alarm tests all": ({"alarm_tests": Ratio(40, 40)}, DEMO),
    "alarm tests one missing": ({"alarm_tests": Ratio(39, 40)}, FAIL),
    "alarm tests none": ({"alarm_tests": Ratio(0, 4)}, FAIL),
    "police ack all": ({"alarms": 20, "alarms_acknowledged": 20}, DEMO),
    "police ack below demonstration": ({"alarms": 1000, "alarms_acknowledged": 999}, PASS),
    "police ack below passing": ({"alarms": 1000, "alarms_acknowledged": 949}, FAIL),
    "police ack at passing": ({"alarms": 1000, "alarms_acknowledged": 950}, PASS),
    "police ack above passing": ({"alarms": 1000, "alarms_acknowledged": 951}, PASS),
    "police ack none of one": ({"alarms": 1, "alarms_acknowledged": 0}, FAIL),
    "overdue 0": ({"hazards_overdue": 0}, DEMO),
    "overdue 1": ({"hazards_overdue": 1}, PASS),
    "overdue 2 (passing's most)": ({"hazards_overdue": 2}, PASS),
    "overdue 3": ({"hazards_overdue": 3}, FAIL),
    "one indicator missed": ({"indicators": {**ALL_MET, Indicator.VIDEO_NETWORKED: False}}, PASS),
    "indicators not recorded": ({"indicators": {}}, PASS),
    "indicator absent from the month": (
        {"indicators": {i: True for i in Indicator if i is not Indicator.CLOSED_MANAGEMENT}},
        PASS,
    ),
    "worst": (
        {
            "gate_days": Ratio(0, 60),
            "patrol_days": Ratio(0, 150),
            "alarm_tests": Ratio(0, 4),
            "alarms": 3,
            "alarms_acknowledged": 0,
            "hazards_overdue": 9,
            "indicators": {},
        },
        FAIL,
    ),
}


@pytest.mark.parametrize("figures, level", EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_one_month_at_each_threshold_edge(figures: dict[str, object], level: RatingLevel) -> None:
    assert rate(month(**figures)) is level


# Nothing to judge (no gate, no key checkpoint, no button, no alarm) is met, not failed.
NOT_APPLICABLE_CASES: dict[str, tuple[dict[str, object], RatingLevel]] = {
    "no gate": ({"gate_days": Ratio(0, 0)}, DEMO),
    "no key checkpoint": ({"patrol_days": Ratio(0, 0)}, DEMO),
    "no alarm": ({"alarms": 0, "alarms_acknowledged": 0}, DEMO),
    # Every school must have one-touch alarms networked with the police: none is a failure,
    # not a figure with nothing to judge.
    "no button": ({"alarm_tests": Ratio(0, 0)}, FAIL),
    "nothing at all": (
        {
            "gate_days": Ratio(0, 0),
            "patrol_days": Ratio(0, 0),
            "alarm_tests": Ratio(0, 0),
            "alarms": 0,
        },
        FAIL,
    ),
    # The 4个100% cannot hold without its indicators: such a school is 达标 at most.
    "no gate, no indicator": ({"gate_days": Ratio(0, 0), "indicators": {}}, PASS),
}


@pytest.mark.parametrize("figures, level", NOT_APPLICABLE_CASES.values(), ids=NOT_APPLICABLE_CASES)
def test_a_ratio_with_nothing_to_judge_is_met(
    figures: dict[str, object], level: RatingLevel
) -> None:
    rating = rate_school([month(**figures)], DEFAULTS, quarter=QUARTER)
    assert rating.level is level
    assert all(s.item is not RatingItem.GATE_DAYS for s in rating.shortfalls)


def test_a_school_without_a_button_is_told_why() -> None:
    rating = rate_school([month(alarm_tests=Ratio(0, 0))], DEFAULTS, quarter=QUARTER)
    assert rating.level is FAIL
    assert rating.reasons == ("未配备一键报警装置，达标需每所学校配备并每月测试",)


GOOD = month()  # 60 of 60 gate-days
GATE_59 = month(gate_days=Ratio(59, 60))  # 98.3%
GATE_58 = month(gate_days=Ratio(58, 60))  # 96.6%
NO_VIDEO = month(indicators={**ALL_MET, Indicator.VIDEO_NETWORKED: False})
OVERDUE_3 = month(hazards_overdue=3)
# The quarter's sums are judged, not the worst month: a short month weighs by its size.
MONTHS_CASES: dict[str, tuple[tuple[SchoolMonth, ...], RatingLevel]] = {
    "one good month": ((GOOD,), DEMO),
    "two good months": ((GOOD, GOOD), DEMO),
    "three good months": ((GOOD, GOOD, GOOD), DEMO),
    "a short month alone": ((GATE_59,), PASS),
    "a short month of two": ((GATE_59, GOOD), DEMO),  # 119/120 = 99.2%
    "a short month of three": ((GOOD, GATE_59, GOOD), DEMO),  # 179/180 = 99.4%
    "a shorter month of two": ((GATE_58, GOOD), PASS),  # 118/120 = 98.3%
    "a shorter month of three": ((GOOD, GOOD, GATE_58), PASS),  # 178/180 = 98.9%
    "4个100% missed in the first month only": ((NO_VIDEO, GOOD, GOOD), PASS),
    "4个100% missed in the last month only": ((GOOD, GOOD, NO_VIDEO), PASS),
    "overdue hazards fed back by the last month": ((OVERDUE_3, GOOD), DEMO),
    "overdue hazards in the last month": ((GOOD, OVERDUE_3), FAIL),
    "overdue hazards in the last of three": ((GOOD, GOOD, OVERDUE_3), FAIL),
    "overdue hazards fed back by the third month": ((GOOD, OVERDUE_3, GOOD), DEMO),
}


@pytest.mark.parametrize("months, level", MONTHS_CASES.values(), ids=MONTHS_CASES.keys())
def test_one_to_three_months(months: tuple[SchoolMonth, ...], level: RatingLevel) -> None:
    assert rate(*months) is level


def test_the_figures_are_the_quarters_sums() -> None:
    first = month(gate_days=Ratio(58, 60), alarms=2, alarms_acknowledged=2, hazards_overdue=4)
    second = month(gate_days=Ratio(62, 62), patrol_days=Ratio(140, 150), hazards_overdue=1)
    third = month(alarm_tests=Ratio(3, 4), alarms=1, indicators={})
    rating = rate_school([first, second, third], DEFAULTS, quarter=QUARTER)
    assert (rating.school_id, rating.quarter) == ("s-1", QUARTER)
    assert rating.gate_days == Ratio(180, 182)
    assert rating.patrol_days == Ratio(440, 450)
    assert rating.alarm_tests == Ratio(11, 12)
    assert rating.police_ack == Ratio(2, 3)
    assert (rating.four_100_months, rating.months_rated) == (2, 3)
    assert rating.overdue_hazards == 0  # the last month's
    assert rating.level is FAIL


def test_reasons_say_why_not_the_level_above() -> None:
    passing = rate_school(
        [month(gate_days=Ratio(989, 1000), indicators={}, hazards_overdue=1)],
        DEFAULTS,
        quarter=QUARTER,
    )
    assert passing.level is PASS
    assert passing.reasons == (
        "校门值守达标日 98.9%，示范需 ≥ 99%",
        "4个100%：1个月中0个月达到，示范需每月达到",
        "逾期未反馈隐患 1 项，示范需 ≤ 0 项",
    )
    assert passing.shortfalls == (
        Shortfall(RatingItem.GATE_DAYS, 0.99, 0.989, DEMO),
        Shortfall(RatingItem.FOUR_100, 1, 0, DEMO),
        Shortfall(RatingItem.OVERDUE_HAZARDS, 0, 1, DEMO),
    )
    failing = rate_school(
        [month(patrol_days=Ratio(2, 3), alarms=40, alarms_acknowledged=37, hazards_overdue=3)],
        DEFAULTS,
        quarter=QUARTER,
    )
    assert failing.level is FAIL
    assert failing.reasons == (
        "重点部位巡查达标日 66.6%，达标需 ≥ 90%",  # cut, as the report prints it
        "报警公安确认 92.5%，达标需 ≥ 95%",
        "逾期未反馈隐患 3 项，达标需 ≤ 2 项",
    )
    assert [s.level for s in failing.shortfalls] == [PASS, PASS, PASS]
    demonstration = rate_school([month()], DEFAULTS, quarter=QUARTER)
    assert (demonstration.reasons, demonstration.shortfalls) == ((), ())
    assert RATING_TEXT == {DEMO: "示范", PASS: "达标", FAIL: "不合格"}


def test_configured_thresholds_are_applied() -> None:
    strict = RatingRules(
        demonstration=DEFAULTS.demonstration,
        passing=RatingLevelThresholds(
            gate_days=0.5,
            patrol_days=0.5,
            alarm_tests=0.5,
            police_ack=0.5,
            four_100=True,
            max_overdue_hazards=0,
        ),
    )
    assert rate(NO_VIDEO, rules=strict) is FAIL
    assert rate(month(gate_days=Ratio(50, 100)), rules=strict) is PASS
    assert rate(month(gate_days=Ratio(49, 100)), rules=strict) is FAIL


@pytest.mark.parametrize(
    "months, quarter, message",
    [
        ((), QUARTER, "1 to 3 of its months, got 0"),
        ((GOOD,) * 4, QUARTER, "1 to 3 of its months, got 4"),
        ((GOOD, replace(GOOD, school_id="s-2")), QUARTER, "several schools"),
        ((GOOD,), "2026-Q5", "expected YYYY-Qn"),
    ],
    ids=["no month", "four months", "two schools", "bad quarter"],
)
def test_what_cannot_be_rated_is_refused(
    months: tuple[SchoolMonth, ...], quarter: str, message: str
) -> None:
    with pytest.raises(GatewayError, match=message) as raised:
        rate_school(months, DEFAULTS, quarter=quarter)
    assert isinstance(raised.value, RatingInputError | PeriodError)
    assert isinstance(raised.value, ValueError)


CHANGES = [
    (None, DEMO, RatingChange.NEW),
    (None, PASS, RatingChange.NEW),
    (None, FAIL, RatingChange.NEW),
    (DEMO, DEMO, RatingChange.SAME),
    (DEMO, PASS, RatingChange.DOWN),
    (DEMO, FAIL, RatingChange.DOWN),
    (PASS, DEMO, RatingChange.UP),
    (PASS, PASS, RatingChange.SAME),
    (PASS, FAIL, RatingChange.DOWN),
    (FAIL, DEMO, RatingChange.UP),
    (FAIL, PASS, RatingChange.UP),
    (FAIL, FAIL, RatingChange.SAME),
]


@pytest.mark.parametrize("previous, current, change", CHANGES)
def test_rating_change(
    previous: RatingLevel | None, current: RatingLevel, change: RatingChange
) -> None:
    assert rating_change(previous, current) is change


# --- quarters ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quarter, months",
    [
        ("2026-Q1", ("2026-01", "2026-02", "2026-03")),
        ("2026-Q2", ("2026-04", "2026-05", "2026-06")),
        ("2026-Q3", ("2026-07", "2026-08", "2026-09")),
        ("2026-Q4", ("2026-10", "2026-11", "2026-12")),
        ("0001-Q1", ("0001-01", "0001-02", "0001-03")),
        ("9999-Q4", ("9999-10", "9999-11", "9999-12")),
    ],
)
def test_parse_quarter(quarter: str, months: tuple[str, str, str]) -> None:
    assert parse_quarter(quarter) == months
    assert {quarter_of_month(m) for m in months} == {quarter}


BAD_QUARTERS = [
    "",
    "2026Q4",
    "2026-q4",
    "2026-Q0",
    "2026-Q5",
    "26-Q4",
    "2026-Q4 ",
    "2026-Q4\n",
    " 2026-Q4",
    "0000-Q1",
    "２０２６-Q4",  # full-width digits
    "2026-11",
]


@pytest.mark.parametrize("text", BAD_QUARTERS)
def test_a_bad_quarter_says_the_expected_form(text: str) -> None:
    with pytest.raises(PeriodError, match=r"expected YYYY-Qn .*e\.g\. 2026-Q4"):
        parse_quarter(text)
    with pytest.raises(PeriodError):
        previous_quarter(text)


@pytest.mark.parametrize(
    "month_text, quarter",
    [
        ("2026-01", "2026-Q1"),
        ("2026-03", "2026-Q1"),
        ("2026-04", "2026-Q2"),
        ("2026-06", "2026-Q2"),
        ("2026-07", "2026-Q3"),
        ("2026-09", "2026-Q3"),
        ("2026-10", "2026-Q4"),
        ("2026-11", "2026-Q4"),
        ("2026-12", "2026-Q4"),
    ],
)
def test_quarter_of_month(month_text: str, quarter: str) -> None:
    assert quarter_of_month(month_text) == quarter


@pytest.mark.parametrize(
    "text", ["", "2026-13", "2026-00", "2026-1", "2026/11", "2026-11-01", "0000-05", "2026-Q4"]
)
def test_a_bad_month_says_the_expected_form(text: str) -> None:
    with pytest.raises(PeriodError, match=r"expected YYYY-MM"):
        quarter_of_month(text)


@pytest.mark.parametrize(
    "quarter, previous",
    [
        ("2026-Q1", "2025-Q4"),
        ("2026-Q2", "2026-Q1"),
        ("2026-Q3", "2026-Q2"),
        ("2026-Q4", "2026-Q3"),
        ("1000-Q1", "0999-Q4"),
        ("0001-Q2", "0001-Q1"),
    ],
)
def test_previous_quarter(quarter: str, previous: str) -> None:
    assert previous_quarter(quarter) == previous


def test_the_first_quarter_has_none_before_it() -> None:
    with pytest.raises(PeriodError, match="no quarter before"):
        previous_quarter("0001-Q1")


# --- properties ----------------------------------------------------------------------------

SHARES = st.sampled_from([0.0, 0.5, 0.9, 0.95, 0.98, 0.99, 1.0])


@st.composite
def ratios(draw: st.DrawFn) -> Ratio:
    required = draw(st.integers(0, 40))
    return Ratio(draw(st.integers(0, required)), required)


@st.composite
def months(draw: st.DrawFn) -> SchoolMonth:
    alarms = draw(st.integers(0, 30))
    return month(
        gate_days=draw(ratios()),
        patrol_days=draw(ratios()),
        alarm_tests=draw(ratios()),
        alarms=alarms,
        alarms_acknowledged=draw(st.integers(0, alarms)),
        hazards_overdue=draw(st.integers(0, 4)),
        indicators={i: draw(st.booleans()) for i in Indicator if draw(st.booleans())},
    )


@st.composite
def rules(draw: st.DrawFn) -> RatingRules:
    """Valid rules: demonstration asks at least what passing asks, item by item."""
    low: dict[str, object] = {}
    high: dict[str, object] = {}
    for name in ("gate_days", "patrol_days", "alarm_tests", "police_ack"):
        first, second = draw(SHARES), draw(SHARES)
        low[name], high[name] = min(first, second), max(first, second)
    overdue = sorted([draw(st.integers(0, 3)), draw(st.integers(0, 3))])
    high["max_overdue_hazards"], low["max_overdue_hazards"] = overdue
    passing_four_100 = draw(st.booleans())
    low["four_100"] = passing_four_100
    high["four_100"] = passing_four_100 or draw(st.booleans())
    return RatingRules(
        demonstration=RatingLevelThresholds.model_validate(high),
        passing=RatingLevelThresholds.model_validate(low),
    )


RANK = {FAIL: 0, PASS: 1, DEMO: 2}


def _improved(month_: SchoolMonth, what: str) -> SchoolMonth:
    """The month with one figure better, by a step."""

    def up(ratio: Ratio) -> Ratio:
        return Ratio(min(ratio.done + 1, ratio.required), ratio.required)

    if what == "alarms_acknowledged":
        return replace(
            month_, alarms_acknowledged=min(month_.alarms_acknowledged + 1, month_.alarms)
        )
    if what == "hazards_overdue":
        return replace(month_, hazards_overdue=max(month_.hazards_overdue - 1, 0))
    if what in ("gate_days", "patrol_days", "alarm_tests"):
        return replace(month_, **{what: up(getattr(month_, what))})  # type: ignore[arg-type]
    indicator = Indicator(what)
    return replace(month_, indicators={**month_.indicators, indicator: True})


IMPROVEMENTS = st.sampled_from(
    [
        "gate_days",
        "patrol_days",
        "alarm_tests",
        "alarms_acknowledged",
        "hazards_overdue",
        *(i.value for i in Indicator),
    ]
)


@given(st.lists(months(), min_size=1, max_size=3), rules(), st.data())
def test_improving_a_figure_never_lowers_the_level(
    quarter_months: list[SchoolMonth], configured: RatingRules, data: st.DataObject
) -> None:
    index = data.draw(st.integers(0, len(quarter_months) - 1))
    what = data.draw(IMPROVEMENTS)
    better = list(quarter_months)
    better[index] = _improved(better[index], what)
    before = rate(*quarter_months, rules=configured)
    after = rate(*better, rules=configured)
    assert RANK[after] >= RANK[before], (what, index)


@given(st.lists(months(), min_size=1, max_size=3), rules())
def test_demonstration_met_implies_passing_met(
    quarter_months: list[SchoolMonth], configured: RatingRules
) -> None:
    figures: QuarterFigures = quarter_figures(quarter_months)
    if not level_shortfalls(figures, configured.demonstration, DEMO):
        assert level_shortfalls(figures, configured.passing, PASS) == ()
    rating = rate_school(quarter_months, configured, quarter=QUARTER)
    assert (rating.level is DEMO) == (
        level_shortfalls(figures, configured.demonstration, DEMO) == ()
    )
