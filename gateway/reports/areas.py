"""Totals over schools: per district (区/县) and for the whole site. Pure.

Counts and ratios are sums over the schools (a ratio of sums, not an average of ratios:
a school with 4 gates weighs more than one with 1). The police response median and
maximum are taken over every acknowledged alarm of the area, not over the schools'
medians."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce

from gateway.reports.model import AreaMonth, Indicator, Ratio, SchoolMonth

__all__ = ["JudgedSchool", "area_month", "district_months", "site_total"]


@dataclass(frozen=True, slots=True)
class JudgedSchool:
    """A school's month with what the area totals need beyond it."""

    month: SchoolMonth
    ack_latencies_s: tuple[float, ...]  # each acknowledged emergency's police response


def _sum(ratios: Sequence[Ratio]) -> Ratio:
    return reduce(Ratio.__add__, ratios, Ratio(0, 0))


def area_month(district: str | None, schools: Sequence[JudgedSchool]) -> AreaMonth:
    months = [s.month for s in schools]
    latencies = [latency for s in schools for latency in s.ack_latencies_s]
    return AreaMonth(
        district=district,
        schools=len(months),
        guards=sum(m.guards for m in months),
        guards_full_time=sum(m.guards_full_time for m in months),
        guards_required=sum(m.guards_required for m in months),
        guards_over_age=sum(m.guards_over_age for m in months),
        gate_days=_sum([m.gate_days for m in months]),
        patrol_days=_sum([m.patrol_days for m in months]),
        alarm_tests=_sum([m.alarm_tests for m in months]),
        tests_passed=sum(m.tests_passed for m in months),
        tests_failed=sum(m.tests_failed for m in months),
        alarms=sum(m.alarms for m in months),
        alarms_acknowledged=sum(m.alarms_acknowledged for m in months),
        alarms_escalated=sum(m.alarms_escalated for m in months),
        ack_median_s=statistics.median(latencies) if latencies else None,
        ack_max_s=max(latencies, default=None),
        hazards_opened=sum(m.hazards_opened for m in months),
        hazards_closed=sum(m.hazards_closed for m in months),
        hazards_open=sum(m.hazards_open for m in months),
        indicators={
            indicator: Ratio(sum(m.indicators.get(indicator, False) for m in months), len(months))
            for indicator in Indicator
        },
    )


def district_months(schools: Sequence[JudgedSchool]) -> tuple[AreaMonth, ...]:
    """One area per district, by name; the schools without a district last, as one area."""
    grouped: dict[str | None, list[JudgedSchool]] = defaultdict(list)
    for school in schools:
        grouped[school.month.district].append(school)
    order = sorted(grouped, key=lambda d: (d is None, d or ""))
    return tuple(area_month(district, grouped[district]) for district in order)


def site_total(schools: Sequence[JudgedSchool]) -> AreaMonth:
    return area_month(None, schools)
