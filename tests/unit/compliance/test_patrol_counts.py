"""The report's count of patrols over many days (`count_patrol_days`) is `judge_patrol_day`'s
on the scans dated each local day: generated scans at and around the days' edges, ties,
clock changes at midnight (Santiago goes back at midnight, Havana forward) and a `now` inside
the last day."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.compliance.gate_days import microseconds
from gateway.compliance.gate_staffing import local_day_window
from gateway.compliance.patrols import ScanRecord, count_patrol_days, judge_patrol_day

ZONES = [
    ZoneInfo(z) for z in ("Asia/Shanghai", "America/Santiago", "America/Havana", "Europe/Berlin")
]
FIRST_DAYS = [date(2026, 4, 3), date(2026, 9, 4), date(2026, 3, 6), date(2026, 10, 23)]


@st.composite
def months(draw: st.DrawFn) -> tuple[list[datetime], list[date], ZoneInfo, datetime, int]:
    tz = draw(st.sampled_from(ZONES))
    first = draw(st.sampled_from(FIRST_DAYS))
    days = [first + timedelta(days=n) for n in range(draw(st.integers(1, 4)))]
    start, _ = local_day_window(first, tz)
    minutes = st.integers(-120, len(days) * 1440 + 120)
    seconds = st.sampled_from([0, 0, 1, 59])
    scans = [
        start + timedelta(minutes=m, seconds=s)
        for m, s in draw(st.lists(st.tuples(minutes, seconds), max_size=40))
    ]
    last_start, _ = local_day_window(days[-1], tz)
    now = last_start + timedelta(minutes=draw(st.integers(0, 2 * 1440)))
    spacing = draw(st.sampled_from([0, 60, 3600]))
    return scans, days, tz, now, spacing


@settings(max_examples=400, deadline=None)
@given(months())
def test_each_days_count_is_judge_patrol_days(
    month: tuple[list[datetime], list[date], ZoneInfo, datetime, int],
) -> None:
    scans, days, tz, now, spacing = month
    # What the report did before: scans grouped by their local date, each day judged.
    by_day: dict[date, list[ScanRecord]] = defaultdict(list)
    for index, at in enumerate(scans):
        by_day[at.astimezone(tz).date()].append(ScanRecord(at, "g", "reader", index))
    windows = []
    for day in days:
        start, end = local_day_window(day, tz)
        windows.append((day, microseconds(start), microseconds(end)))
    counts = count_patrol_days(
        sorted(microseconds(at) for at in scans),
        windows,
        tz=tz,
        now=microseconds(now),
        required=5,
        min_spacing_s=spacing,
    )
    for day, count in zip(days, counts, strict=True):
        judged = judge_patrol_day(
            by_day.get(day, []), day=day, tz=tz, now=now, required=5, min_spacing_s=spacing
        )
        assert (count.day, count.patrols, count.required, count.compliant) == (
            day,
            judged.patrols,
            judged.required,
            judged.compliant,
        )
