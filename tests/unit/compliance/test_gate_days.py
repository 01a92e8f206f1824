"""The report's judgement of many gate-days at once (`judge_timeline`) gives exactly the
figures of `judge_gate_day` on each day's share of what the report reads: generated
histories from several sources, with copies and clashes at one instant, reports before the
days, gaps of days, clock changes and a `now` inside the last day."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.compliance.gate_days import (
    DayWindow,
    judge_timeline,
    microseconds,
    timeline_of,
)
from gateway.compliance.gate_staffing import (
    StaffingReport,
    StaffingSource,
    judge_gate_day,
    local_day_window,
    report_span,
)
from gateway.reports.days import ReportsBySource

ZONES = [ZoneInfo(z) for z in ("Asia/Shanghai", "Europe/Berlin", "America/Havana", "UTC")]
FIRST_DAYS = [date(2026, 3, 27), date(2026, 10, 23), date(2026, 3, 6), date(2026, 9, 1)]


def read_view(
    reports: list[StaffingReport], since: datetime, until: datetime
) -> list[StaffingReport]:
    """What `reports_for_window(start=since, end=until)` returns for one gate: each source's
    latest report before `since` (by time, then record), and every report in [since, until]."""
    latest: dict[StaffingSource, StaffingReport] = {}
    for r in reports:
        if r.occurred_at < since:
            best = latest.get(r.source)
            if best is None or (r.occurred_at, r.record_id) > (best.occurred_at, best.record_id):
                latest[r.source] = r
    return [*latest.values(), *(r for r in reports if since <= r.occurred_at <= until)]


def check(
    reports: list[StaffingReport], days: list[date], tz: ZoneInfo, now: datetime, max_s: int
) -> None:
    since, _ = report_span(days[0], tz, max_unstaffed_s=max_s)
    _, until = report_span(days[-1], tz, max_unstaffed_s=max_s)
    view = read_view(reports, since, until)
    index = ReportsBySource(view)
    windows = [DayWindow.of(day, tz, max_unstaffed_s=max_s) for day in days]
    fast = judge_timeline(
        timeline_of(view, since=since), windows, now=microseconds(now), max_unstaffed_s=max_s
    )
    for day, figures in zip(days, fast, strict=True):
        full = judge_gate_day(
            index.within(*report_span(day, tz, max_unstaffed_s=max_s)),
            day=day,
            tz=tz,
            now=now,
            max_unstaffed_s=max_s,
        )
        assert figures.day == day
        assert (figures.compliant, figures.unstaffed_s, figures.longest_unstaffed_s) == (
            full.compliant,
            full.unstaffed_s,
            full.longest_unstaffed_s,
        ), day


@st.composite
def histories(
    draw: st.DrawFn,
) -> tuple[list[StaffingReport], list[date], ZoneInfo, datetime, int]:
    tz = draw(st.sampled_from(ZONES))
    first = draw(st.sampled_from(FIRST_DAYS))
    days = [first + timedelta(days=n) for n in range(draw(st.integers(1, 4)))]
    start, _ = local_day_window(first, tz)
    _, end = local_day_window(days[-1], tz)
    span_min = int((end - start).total_seconds() // 60)
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(-3 * 1440, span_min + 3 * 1440),
                st.sampled_from([0, 0, 0, 1, 30]),
                st.booleans(),
                st.sampled_from(list(StaffingSource)),
            ),
            max_size=30,
        )
    )
    ids = draw(st.permutations(range(1, len(rows) + 1)))
    reports = [
        StaffingReport(start + timedelta(minutes=m, seconds=s), staffed, source, record_id)
        for (m, s, staffed, source), record_id in zip(rows, ids, strict=True)
    ]
    # Copies of some reports at their instant (a resent message), arriving later.
    for extra, r in enumerate(
        draw(st.lists(st.sampled_from(reports), max_size=4)) if reports else []
    ):
        reports.append(StaffingReport(r.occurred_at, r.staffed, r.source, 1000 + extra))
    last_start, _ = local_day_window(days[-1], tz)
    now = last_start + timedelta(minutes=draw(st.integers(0, 3 * 1440)))
    max_s = draw(st.sampled_from([60, 600, 3600]))
    return reports, days, tz, now, max_s


@settings(max_examples=400, deadline=None)
@given(histories())
def test_each_day_as_judge_gate_day_judges_it(
    history: tuple[list[StaffingReport], list[date], ZoneInfo, datetime, int],
) -> None:
    check(*history)


@pytest.mark.parametrize("seed", range(6))
def test_a_month_of_a_busy_post(seed: int) -> None:
    rng = random.Random(seed)
    tz = ZoneInfo("Asia/Shanghai")
    first = date(2026, 9, 1)
    start, _ = local_day_window(first, tz)
    moment = start - timedelta(days=2)
    reports = []
    record_id = 0
    while moment < start + timedelta(days=31):
        moment += timedelta(seconds=rng.choice([0, 30, 300, 590, 610, 3600, 2 * 86400]))
        source = rng.choice(list(StaffingSource))
        for _ in range(rng.choice([1, 1, 2])):
            record_id += 1
            reports.append(StaffingReport(moment, rng.random() < 0.6, source, record_id))
    days = [first + timedelta(days=n) for n in range(30)]
    check(reports, days, tz, datetime(2026, 10, 5, tzinfo=UTC), 600)
    check(reports, days[:15], tz, datetime(2026, 9, 15, 3, 17, tzinfo=UTC), 600)


def test_nothing_on_record_is_a_day_empty_from_its_start() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    day = date(2026, 9, 1)
    check([], [day], tz, datetime(2026, 9, 3, tzinfo=UTC), 600)
    window = DayWindow.of(day, tz, max_unstaffed_s=600)
    (figures,) = judge_timeline(
        timeline_of([], since=datetime(2026, 8, 31, tzinfo=UTC)),
        [window],
        now=window.end,
        max_unstaffed_s=600,
    )
    assert (figures.compliant, figures.unstaffed_s) == (False, 86400.0)


def test_of_reports_before_the_days_at_one_instant_the_last_stored_decides() -> None:
    tz = ZoneInfo("Asia/Shanghai")
    day = date(2026, 9, 2)
    start, _ = local_day_window(day, tz)
    before = start - timedelta(hours=3)
    for staffed_first in (True, False):
        reports = [
            StaffingReport(before, staffed_first, StaffingSource.API, 3),
            StaffingReport(before, not staffed_first, StaffingSource.MQTT, 5),
            StaffingReport(before, staffed_first, StaffingSource.MQTT, 7),  # a copy of 5's clash
            StaffingReport(start + timedelta(hours=2), True, StaffingSource.MQTT, 9),
        ]
        check(reports, [day], tz, datetime(2026, 9, 5, tzinfo=UTC), 600)
