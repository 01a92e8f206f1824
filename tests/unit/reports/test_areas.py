"""District and site totals: sums of the schools, ratios of sums, the police response
median over every alarm of the area (not a median of the schools' medians)."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from gateway.reports.areas import JudgedSchool, area_month, district_months, site_total
from gateway.reports.model import Indicator, Ratio, SchoolMonth
from tests.unit.reports.samples import school_month


def judged(
    school_id: str, district: str | None, latencies: tuple[float, ...] = (), **figures: object
) -> JudgedSchool:
    month = school_month(school_id, f"学校{school_id}", district, **figures)
    return JudgedSchool(month, latencies)


def test_counts_and_ratios_are_sums() -> None:
    schools = [
        judged("a", "城关区", guards=3, gate_days=Ratio(58, 60), alarms=2, hazards_open=1),
        judged("b", "城关区", guards=1, gate_days=Ratio(30, 30), alarms=0, hazards_open=4),
    ]
    area = area_month("城关区", schools)
    assert (area.district, area.schools, area.guards) == ("城关区", 2, 4)
    assert area.gate_days == Ratio(88, 90)  # 97.8%, not the mean of 96.7% and 100%
    assert (area.alarms, area.hazards_open) == (2, 5)


@pytest.mark.parametrize(
    ("latencies", "median", "largest"),
    [
        # Medians of the schools would be 2 and 100: their median 51. Over the alarms: 3.
        (((1.0, 2.0, 3.0), (100.0,)), 2.5, 100.0),
        (((1.0, 2.0, 3.0), (4.0, 100.0)), 3.0, 100.0),
        (((), ()), None, None),
        (((7.5,), ()), 7.5, 7.5),
    ],
)
def test_the_police_response_is_judged_over_every_alarm(
    latencies: tuple[tuple[float, ...], ...], median: float | None, largest: float | None
) -> None:
    schools = [judged(f"s{i}", "区", own) for i, own in enumerate(latencies)]
    area = area_month("区", schools)
    assert (area.ack_median_s, area.ack_max_s) == (median, largest)
    everything = [x for own in latencies for x in own]
    if everything:
        assert area.ack_median_s == statistics.median(everything)


def test_indicators_count_the_schools_meeting_each() -> None:
    unmet = dict.fromkeys(Indicator, True) | {Indicator.VIDEO_NETWORKED: False}
    schools = [judged("a", None), judged("b", None, indicators=unmet), judged("c", None)]
    area = site_total(schools)
    assert area.indicators[Indicator.VIDEO_NETWORKED] == Ratio(2, 3)
    assert area.indicators[Indicator.FULL_TIME_GUARDS] == Ratio(3, 3)
    assert area.district is None


def test_districts_in_name_order_and_the_schools_without_one_last() -> None:
    schools = [
        judged("a", None),
        judged("b", "汾阳区"),
        judged("c", "城关区"),
        judged("d", "城关区"),
    ]
    districts = district_months(schools)
    assert [(d.district, d.schools) for d in districts] == [
        ("城关区", 2),
        ("汾阳区", 1),
        (None, 1),
    ]
    assert site_total(schools).schools == 4


def test_no_school_is_an_empty_area() -> None:
    area = area_month(None, [])
    assert (area.schools, area.gate_days, area.ack_median_s) == (0, Ratio(0, 0), None)
    assert all(r == Ratio(0, 0) for r in area.indicators.values())
    assert district_months([]) == ()


def test_a_school_missing_an_indicator_does_not_meet_it() -> None:
    month: SchoolMonth = school_month("a", "甲", None)
    partial = replace(month, indicators={Indicator.CLOSED_MANAGEMENT: True})
    area = area_month(None, [JudgedSchool(partial, ())])
    assert area.indicators[Indicator.CLOSED_MANAGEMENT] == Ratio(1, 1)
    assert area.indicators[Indicator.ALARM_NETWORKED] == Ratio(0, 1)
