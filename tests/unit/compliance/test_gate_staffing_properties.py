"""Properties of the gate staffing judgement over generated report histories, checked
against the plain definition: the state at an instant is the latest judged report."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.compliance.gate_staffing import (
    JUDGED_SOURCES,
    GateDay,
    Interval,
    StaffingReport,
    StaffingSource,
    judge_gate_day,
    local_day_window,
    report_span,
)

# Havana changes clocks at midnight: a day whose first local hour does not exist.
ZONES = [ZoneInfo(z) for z in ("Asia/Shanghai", "Europe/Berlin", "America/Havana", "UTC")]
DAYS = [date(2026, 3, 29), date(2026, 10, 25), date(2026, 3, 8), date(2026, 11, 1)]
MINUTES_AROUND = (-3 * 1440, 4 * 1440)  # reports from 3 days before to 3 days after the day


@dataclass(frozen=True)
class History:
    reports: list[StaffingReport]
    day: date
    tz: ZoneInfo
    now: datetime
    max_s: int
    min_s: float

    def judge(self, reports: list[StaffingReport] | None = None) -> GateDay:
        return judge_gate_day(
            self.reports if reports is None else reports,
            day=self.day,
            tz=self.tz,
            now=self.now,
            max_unstaffed_s=self.max_s,
            disagreement_min_s=self.min_s,
        )


@st.composite
def offsets(draw: st.DrawFn) -> timedelta:
    # mostly whole minutes, so reports collide at one instant and land on the edges
    minutes = draw(st.integers(*MINUTES_AROUND))
    return timedelta(minutes=minutes, seconds=draw(st.sampled_from([0, 0, 0, 1, 30, 59])))


@st.composite
def histories(draw: st.DrawFn) -> History:
    tz = draw(st.sampled_from(ZONES))
    day = draw(st.one_of(st.sampled_from(DAYS), st.dates(date(2025, 1, 1), date(2027, 12, 31))))
    start, _ = local_day_window(day, tz)
    rows = draw(
        st.lists(
            st.tuples(offsets(), st.booleans(), st.sampled_from(list(StaffingSource))),
            max_size=25,
        )
    )
    ids = draw(st.permutations(range(1, len(rows) + 1)))  # arrival order, unrelated to time
    reports = [
        StaffingReport(start + offset, staffed, source, record_id)
        for (offset, staffed, source), record_id in zip(rows, ids, strict=True)
    ]
    now = start + abs(draw(st.one_of(offsets(), st.just(timedelta()))))
    return History(
        reports=reports,
        day=day,
        tz=tz,
        now=now,
        max_s=draw(st.sampled_from([0, 60, 600, 3600, 7200])),
        min_s=draw(st.sampled_from([0.0, 30.0, 60.0, 900.0])),
    )


def state_at(
    reports: list[StaffingReport], at: datetime, sources: frozenset[StaffingSource]
) -> bool | None:
    """The plain definition over the whole history: the latest report at or before `at`,
    a copy of a report counting as the original (the first to arrive)."""
    first: dict[tuple[StaffingSource, datetime, bool], int] = {}
    for r in reports:
        key = (r.source, r.occurred_at, r.staffed)
        first[key] = min(first.get(key, r.record_id), r.record_id)
    candidates = [
        (occurred_at, record_id, staffed)
        for (source, occurred_at, staffed), record_id in first.items()
        if source in sources and occurred_at <= at
    ]
    return max(candidates)[2] if candidates else None


def probes(reports: list[StaffingReport], start: datetime, end: datetime) -> list[datetime]:
    """Instants where the state can change in [start, end), and one inside each piece."""
    edges = sorted({start, end, *(r.occurred_at for r in reports if start < r.occurred_at < end)})
    middles = [a + (b - a) / 2 for a, b in itertools.pairwise(edges)]
    return [t for t in sorted({*edges, *middles}) if start <= t < end]


def assert_ordered_inside(intervals: tuple[Interval, ...], result: GateDay) -> None:
    for i in intervals:
        assert result.window_start <= i.start < i.end <= result.window_end
        assert i.full_start <= i.start and i.end <= i.full_end
        assert i.start.tzinfo is UTC and i.full_end.tzinfo is UTC
    for a, b in itertools.pairwise(intervals):
        assert a.end < b.start  # maximal: neighbours would have been merged


@settings(max_examples=300)
@given(histories())
def test_the_window_is_split_into_staffed_and_unstaffed(h: History) -> None:
    result = h.judge()
    window_s = (result.window_end - result.window_start).total_seconds()
    assert abs(result.staffed_s + result.unstaffed_s - window_s) < 1e-6
    assert result.unstaffed_s == sum(i.duration_s for i in result.unstaffed)
    assert_ordered_inside(result.unstaffed, result)
    for _, intervals in result.sources:
        assert_ordered_inside(intervals, result)
    assert result.longest_unstaffed_s == max(
        (i.full_duration_s for i in result.unstaffed), default=0.0
    )
    assert result.compliant is (result.longest_unstaffed_s <= h.max_s)
    assert result.complete is (h.now >= local_day_window(h.day, h.tz)[1])
    pairs: dict[tuple[StaffingSource, ...], list[tuple[datetime, datetime]]] = {}
    for d in result.disagreements:
        assert result.window_start <= d.start < d.end <= result.window_end
        (a, va), (b, vb) = d.states
        assert a < b and va != vb
        pairs.setdefault((a, b), []).append((d.start, d.end))
    for spans in pairs.values():
        assert all(x[1] <= y[0] for x, y in itertools.pairwise(spans))


@settings(max_examples=300)
@given(histories())
def test_the_judged_state_is_the_latest_judged_report(h: History) -> None:
    result = h.judge()
    for t in probes(h.reports, result.window_start, result.window_end):
        empty = any(i.start <= t < i.end for i in result.unstaffed)
        assert empty is (state_at(h.reports, t, JUDGED_SOURCES) is not True), t


@settings(max_examples=300)
@given(histories())
def test_an_absence_is_measured_over_its_full_length(h: History) -> None:
    result = h.judge()
    since, until = report_span(h.day, h.tz, max_unstaffed_s=h.max_s, disagreement_min_s=h.min_s)
    known_until = min(until, h.now)
    for i in result.unstaffed:
        for t in probes(h.reports, i.full_start, i.full_end):
            assert state_at(h.reports, t, JUDGED_SOURCES) is not True
        if i.full_start > since:  # it really begins there (or nothing is known before)
            before = state_at(h.reports, i.full_start - timedelta(microseconds=1), JUDGED_SOURCES)
            assert before is not False
            if before is None:  # from the window's start, or from the first report ever
                first = min(
                    (r.occurred_at for r in h.reports if r.source in JUDGED_SOURCES), default=None
                )
                assert i.full_start in (result.window_start, first)
        if i.full_end < known_until:  # and really ends there
            assert state_at(h.reports, i.full_end, JUDGED_SOURCES) is True
        else:
            assert i.full_end == known_until


@settings(max_examples=200)
@given(histories(), st.randoms(use_true_random=False))
def test_the_answer_does_not_depend_on_the_order_of_the_input(
    h: History, rnd: random.Random
) -> None:
    shuffled = list(h.reports)
    rnd.shuffle(shuffled)
    assert h.judge(shuffled) == h.judge()


@settings(max_examples=300)
@given(histories(), st.data())
def test_irrelevant_reports_and_copies_change_nothing(h: History, data: st.DataObject) -> None:
    since, until = report_span(h.day, h.tz, max_unstaffed_s=h.max_s, disagreement_min_s=h.min_s)
    known_until = min(until, h.now)
    extra: list[StaffingReport] = []
    next_id = iter(range(10_000, 20_000))
    for source in StaffingSource:
        before = [r.occurred_at for r in h.reports if r.source == source and r.occurred_at < since]
        if before:  # anything older than the source's last report before the span
            for back in data.draw(st.lists(st.integers(1, 5 * 86400), max_size=3)):
                staffed = data.draw(st.booleans())
                extra.append(
                    StaffingReport(
                        max(before) - timedelta(seconds=back), staffed, source, next(next_id)
                    )
                )
    for ahead in data.draw(st.lists(st.integers(1, 5 * 86400), max_size=3)):  # past the span or now
        source = data.draw(st.sampled_from(list(StaffingSource)))
        extra.append(
            StaffingReport(
                known_until + timedelta(seconds=ahead),
                data.draw(st.booleans()),
                source,
                next(next_id),
            )
        )
    if h.reports:  # copies arriving later, with another guard id even
        for original in data.draw(st.lists(st.sampled_from(h.reports), max_size=4)):
            extra.append(replace(original, record_id=next(next_id), guard_id="copy"))
    mixed = [*h.reports, *extra]
    data.draw(st.randoms(use_true_random=False)).shuffle(mixed)
    assert h.judge(mixed) == h.judge()


@given(histories())
def test_only_the_span_is_needed(h: History) -> None:
    """What report_span names (the last instant per source before it, everything in it up
    to now) gives the whole answer."""
    since, until = report_span(h.day, h.tz, max_unstaffed_s=h.max_s, disagreement_min_s=h.min_s)
    last_before = {
        s: max(
            (r.occurred_at for r in h.reports if r.source == s and r.occurred_at < since),
            default=None,
        )
        for s in StaffingSource
    }
    needed = [
        r
        for r in h.reports
        if since <= r.occurred_at <= min(until, h.now) or r.occurred_at == last_before[r.source]
    ]
    assert h.judge(needed) == h.judge()


@given(st.sampled_from(ZONES), st.dates(date(2000, 1, 1), date(2037, 12, 31)))
def test_local_days_tile_the_timeline(tz: ZoneInfo, day: date) -> None:
    start, end = local_day_window(day, tz)
    assert local_day_window(day + timedelta(days=1), tz)[0] == end
    assert timedelta(hours=22) <= end - start <= timedelta(hours=26)
    assert start.astimezone(tz).date() == day
