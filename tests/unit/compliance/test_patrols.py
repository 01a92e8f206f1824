"""Key areas patrolled at least 5 times a day: per checkpoint and local day, by tables of scans."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.compliance.patrols import (
    PatrolDay,
    RoundStatus,
    ScanRecord,
    count_patrols,
    judge_patrol_day,
    judge_rounds,
    round_times,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
DAY = "2026-03-10"
DONE, DUE, OVERDUE, UPCOMING = (
    RoundStatus.DONE,
    RoundStatus.DUE,
    RoundStatus.OVERDUE,
    RoundStatus.UPCOMING,
)


def at(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    """'12:00[:30]' on DAY or '2026-03-10 12:00' in `tz`, or '...Z' in UTC; returned in UTC."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    if "-" not in text:
        text = f"{DAY} {text}"
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


def scans(times: tuple[str, ...], tz: ZoneInfo = SHANGHAI) -> list[ScanRecord]:
    """One scan per time, in the given order, with record ids 1, 2, 3..."""
    return [ScanRecord(at(t, tz), "g1", "qr", i) for i, t in enumerate(times, start=1)]


def ids(records: tuple[ScanRecord, ...]) -> tuple[int, ...]:
    return tuple(r.record_id for r in records)


HOURLY_5 = ("08:00", "09:00", "10:00", "11:00", "12:00")
EVERY_30_MIN = tuple(f"{8 + i // 2:02}:{30 * (i % 2):02}" for i in range(10))  # 08:00..12:30

# times (in input order), min_spacing_s -> record ids counted
COUNT_CASES: dict[str, tuple[tuple[str, ...], float, tuple[int, ...]]] = {
    "empty": ((), 3600, ()),
    "one-scan": (("08:00",), 3600, (1,)),
    "exactly-at-spacing-counts": (("08:00", "09:00"), 3600, (1, 2)),
    "one-second-under-spacing-does-not": (("08:00", "08:59:59"), 3600, (1,)),
    "a-burst-of-three-is-one-patrol": (("08:00", "08:00:20", "08:00:40"), 3600, (1,)),
    # 09:40 is 50 min after the skipped 08:50 but 100 min after the counted 08:00
    "a-skipped-scan-does-not-reset-the-spacing": (("08:00", "08:50", "09:40"), 3600, (1, 3)),
    "a-chain-every-40-min": (("08:00", "08:40", "09:20", "10:00", "10:40"), 3600, (1, 3, 5)),
    "unsorted-input": (("10:00", "08:00", "09:00", "08:30"), 3600, (2, 3, 1)),
    "spacing-0-every-scan-counts": (("08:00", "08:00", "08:00:01"), 0, (1, 2, 3)),
    "fractional-spacing": (("08:00:00", "08:00:00.400", "08:00:00.500"), 0.5, (1, 3)),
    "10-scans-30-min-apart-count-5": (EVERY_30_MIN, 3600, (1, 3, 5, 7, 9)),
    "across-midnight-is-just-time": (("2026-03-10 23:30", "2026-03-11 00:30"), 3600, (1, 2)),
}


@pytest.mark.parametrize("times, spacing, expected", COUNT_CASES.values(), ids=COUNT_CASES.keys())
def test_count_patrols(times: tuple[str, ...], spacing: float, expected: tuple[int, ...]) -> None:
    assert ids(count_patrols(scans(times), min_spacing_s=spacing)) == expected


@pytest.mark.parametrize("spacing, expected", [(3600, (3,)), (0, (3, 7))], ids=["3600", "0"])
@pytest.mark.parametrize("order", [(7, 3), (3, 7)], ids=["7-first", "3-first"])
def test_a_tie_at_one_instant_goes_to_the_lower_record_id(
    order: tuple[int, int], spacing: float, expected: tuple[int, ...]
) -> None:
    tied = [ScanRecord(at("08:00"), f"g{i}", "qr", i) for i in order]
    assert ids(count_patrols(tied, min_spacing_s=spacing)) == expected


@pytest.mark.parametrize("spacing", [-1, -0.001], ids=["minus-1", "minus-1ms"])
def test_negative_spacing_is_refused(spacing: float) -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        count_patrols(scans(("08:00",)), min_spacing_s=spacing)


def test_a_naive_scan_is_refused() -> None:
    with pytest.raises(ValueError, match="scanned_at must be aware"):
        ScanRecord(datetime(2026, 3, 10, 8), "g1", "qr", 1)


@dataclass(frozen=True, kw_only=True)
class Day:
    times: tuple[str, ...]  # in the zone `tz`, or '...Z'
    day: str = DAY
    tz: str = "Asia/Shanghai"
    now: str = "2026-03-12 00:00"
    required: int = 5
    spacing: float = 3600
    window: tuple[str, str] = ("2026-03-10 00:00", "2026-03-11 00:00")
    complete: bool = True
    scans: tuple[int, ...] | None = None  # the day's scans by id, in time order; None: counted
    counted: tuple[int, ...]
    compliant: bool
    remaining: int


BERLIN_23H = ("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
BERLIN_25H = ("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")

DAY_CASES = {
    "00:00-local-counts-next-midnight-does-not": Day(
        times=("2026-03-09 23:59:59", "2026-03-10 00:00", "2026-03-11 00:00"), required=1,
        counted=(2,), compliant=True, remaining=0),
    # 2026-03-01T17:00Z is 3/2 01:00 in Shanghai; 15:59:59Z is still 3/1 23:59:59
    "utc-17:00-belongs-to-the-next-shanghai-day": Day(
        times=("2026-03-01T17:00:00Z", "2026-03-01T15:59:59Z"), day="2026-03-02",
        now="2026-03-03 00:00", window=("2026-03-02 00:00", "2026-03-03 00:00"), required=1,
        counted=(1,), compliant=True, remaining=0),
    "utc-15:59:59-belongs-to-the-shanghai-day-before": Day(
        times=("2026-03-01T17:00:00Z", "2026-03-01T15:59:59Z"), day="2026-03-01",
        now="2026-03-03 00:00", window=("2026-03-01 00:00", "2026-03-02 00:00"), required=1,
        counted=(2,), compliant=True, remaining=0),
    "no-scans": Day(times=(), counted=(), compliant=False, remaining=5),
    "5-scans-1h-apart-compliant-exactly-at-required": Day(
        times=HOURLY_5, counted=(1, 2, 3, 4, 5), compliant=True, remaining=0),
    "4-of-5-is-one-short": Day(
        times=HOURLY_5[:4], counted=(1, 2, 3, 4), compliant=False, remaining=1),
    "required-1-and-2-counted": Day(
        times=("08:00", "23:59:59"), required=1, counted=(1, 2), compliant=True, remaining=0),
    "10-scans-30-min-apart-spacing-3600-count-5": Day(
        times=EVERY_30_MIN, scans=tuple(range(1, 11)), counted=(1, 3, 5, 7, 9), compliant=True,
        remaining=0),
    "unsorted-input-comes-out-in-time-order": Day(
        times=("12:00", "08:00", "10:00", "09:00", "11:00"), counted=(2, 4, 3, 5, 1),
        compliant=True, remaining=0),
    "day-in-progress": Day(
        times=("08:00", "08:30", "09:00"), now="2026-03-10 12:00",
        window=("2026-03-10 00:00", "2026-03-10 12:00"), complete=False, scans=(1, 2, 3),
        counted=(1, 3), compliant=False, remaining=3),
    "day-in-progress-already-compliant": Day(
        times=HOURLY_5, now="2026-03-10 12:00:01",
        window=("2026-03-10 00:00", "2026-03-10 12:00:01"), complete=False,
        counted=(1, 2, 3, 4, 5), compliant=True, remaining=0),
    "complete-exactly-at-next-midnight": Day(
        times=("08:00",), now="2026-03-11 00:00", counted=(1,), compliant=False, remaining=4),
    "a-day-in-the-future-has-an-empty-window": Day(
        times=(), now="2026-03-09 12:00", window=("2026-03-10 00:00", "2026-03-10 00:00"),
        complete=False, counted=(), compliant=False, remaining=5),
    "berlin-23h-day-edges": Day(
        times=("2026-03-29 00:00", "2026-03-29T21:59:59Z", "2026-03-29T22:00:00Z"),
        tz="Europe/Berlin", day="2026-03-29", now="2026-04-01 00:00", window=BERLIN_23H,
        counted=(1, 2), compliant=False, remaining=3),
    # 01:30 CET to 03:10 CEST is 100 min on the wall clock but 40 min of real time
    "berlin-spacing-is-real-time-across-spring-forward": Day(
        times=("2026-03-29 01:30", "2026-03-29 03:10", "2026-03-29 03:30"),
        tz="Europe/Berlin", day="2026-03-29", now="2026-04-01 00:00", window=BERLIN_23H,
        scans=(1, 2, 3), counted=(1, 3), compliant=False, remaining=3),
    # 02:30 summer time, then 02:30 winter time: the same wall clock, an hour apart
    "berlin-25h-day-the-repeated-hour-counts-twice": Day(
        times=("2026-10-24T22:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z",
               "2026-10-25T22:59:59Z", "2026-10-25T23:00:00Z"),
        tz="Europe/Berlin", day="2026-10-25", now="2026-10-27 00:00", window=BERLIN_25H,
        counted=(1, 2, 3, 4), compliant=False, remaining=1),
    "new-york-23h-day": Day(
        times=("2026-03-08 01:30", "2026-03-08 03:10", "2026-03-08 23:59", "2026-03-09 00:00"),
        tz="America/New_York", day="2026-03-08", now="2026-03-10 00:00",
        window=("2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z"), scans=(1, 2, 3),
        counted=(1, 3), compliant=False, remaining=3),
    "new-york-25h-day-01:30-edt-and-01:30-est": Day(
        times=("2026-11-01T05:30:00Z", "2026-11-01T06:30:00Z", "2026-11-02T04:59:59Z"),
        tz="America/New_York", day="2026-11-01", now="2026-11-03 00:00",
        window=("2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z"), required=3,
        counted=(1, 2, 3), compliant=True, remaining=0),
}  # fmt: skip


def judge_day(case: Day) -> PatrolDay:
    tz = ZoneInfo(case.tz)
    return judge_patrol_day(
        scans(case.times, tz),
        day=date.fromisoformat(case.day),
        tz=tz,
        now=at(case.now, tz),
        required=case.required,
        min_spacing_s=case.spacing,
    )


@pytest.mark.parametrize("case", DAY_CASES.values(), ids=DAY_CASES.keys())
def test_judge_patrol_day(case: Day) -> None:
    tz = ZoneInfo(case.tz)
    result = judge_day(case)
    assert (result.window_start, result.window_end) == tuple(at(t, tz) for t in case.window)
    assert result.complete is case.complete
    assert ids(result.scans) == (case.counted if case.scans is None else case.scans)
    assert ids(result.counted) == case.counted
    assert result.compliant is case.compliant
    assert result.remaining == case.remaining
    assert (result.day, result.required, result.rounds) == (
        date.fromisoformat(case.day),
        case.required,
        (),
    )


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="now must be aware"):
        judge_patrol_day(
            [],
            day=date(2026, 3, 10),
            tz=SHANGHAI,
            now=datetime(2026, 3, 11),
            required=5,
            min_spacing_s=3600,
        )


# The sibling rule (gate_staffing) does not believe reports past `now` (clocks ahead); here a
# scan after `now` is counted, and a round not yet open is DONE by it.
@pytest.mark.parametrize(
    "now, expected",
    [("2026-03-10 12:00", (1,)), ("2026-03-09 12:00", ())],
    ids=["day-in-progress", "day-in-the-future"],
)
def test_a_scan_past_now_is_not_believed_yet(now: str, expected: tuple[int, ...]) -> None:
    result = judge_patrol_day(
        scans(("08:00", "12:30")), day=date(2026, 3, 10), tz=SHANGHAI, now=at(now),
        required=5, min_spacing_s=3600, rounds=[at("13:00")], grace_s=1800,
    )  # fmt: skip
    assert (ids(result.scans), ids(result.counted)) == (expected, expected)
    assert result.rounds[0].status is UPCOMING  # 12:30 has not happened yet


Z = "2026-03-10T{}:00Z".format  # a UTC time on DAY
# day, tz, explicit times, first, per_day -> the rounds in UTC
ROUND_TIME_CASES: dict[str, tuple[str, ZoneInfo, tuple[str, ...], str, int, tuple[str, ...]]] = {
    "explicit-local-to-utc": (DAY, SHANGHAI, ("08:00", "14:30"), "00:00", 5,
                              (Z("00:00"), Z("06:30"))),
    "explicit-sorted-and-deduplicated": (DAY, SHANGHAI, ("20:00", "08:00", "20:00", "03:00"),
                                         "00:00", 1,
                                         ("2026-03-09T19:00:00Z", Z("00:00"), Z("12:00"))),
    "explicit-first-and-last-minute": (DAY, SHANGHAI, ("23:59", "00:00"), "08:00", 1,
                                       ("2026-03-09T16:00:00Z", Z("15:59"))),
    # 08:00, 12:48, 17:36, 22:24 and 03:12 local: 03:12 is early on the same local day
    "5-from-08:00-wrap-past-midnight": (DAY, SHANGHAI, (), "08:00", 5, (
        "2026-03-09T19:12:00Z", Z("00:00"), Z("04:48"), Z("09:36"), Z("14:24"))),
    "1-per-day": (DAY, SHANGHAI, (), "08:00", 1, (Z("00:00"),)),
    # 1440/7 = 205.71 min: 00:00, 03:26, 06:51, 10:17, 13:43, 17:09, 20:34 local
    "7-per-day-rounded-to-the-minute": (DAY, SHANGHAI, (), "00:00", 7, (
        "2026-03-09T16:00:00Z", "2026-03-09T19:26:00Z", "2026-03-09T22:51:00Z",
        Z("02:17"), Z("05:43"), Z("09:09"), Z("12:34"))),
    # 00:30 to 23:30 local: 16:30Z the day before to 15:30Z
    "24-per-day-hourly": (DAY, SHANGHAI, (), "00:30", 24, (
        *(f"2026-03-09T{h}:30:00Z" for h in range(16, 24)),
        *(f"2026-03-10T{h:02}:30:00Z" for h in range(16)))),
    "berlin-summer": ("2026-07-01", BERLIN, ("08:00",), "00:00", 1, ("2026-07-01T06:00:00Z",)),
    # zoneinfo reads a nonexistent 02:30 (fold=0) with the offset before the change, +01:00:
    # 01:30Z, which is 03:30 summer time
    "berlin-spring-forward-nonexistent-02:30": ("2026-03-29", BERLIN, ("02:30",), "00:00", 1,
                                                ("2026-03-29T01:30:00Z",)),
    # an ambiguous 02:30 is the first one, summer time
    "berlin-fall-back-ambiguous-02:30": ("2026-10-25", BERLIN, ("02:30",), "00:00", 1,
                                         ("2026-10-25T00:30:00Z",)),
    # 02:00 does not exist and lands on 03:00: 24 hourly rounds give 23 times
    "berlin-23h-day-24-hourly-rounds-give-23": ("2026-03-29", BERLIN, (), "00:00", 24, (
        "2026-03-28T23:00:00Z", *(f"2026-03-29T{h:02}:00:00Z" for h in range(22)))),
    # the repeated hour 02:00-03:00 gets only its first (summer time) round: 01:00Z is skipped
    "berlin-25h-day-24-hourly-rounds": ("2026-10-25", BERLIN, (), "00:00", 24, (
        "2026-10-24T22:00:00Z", "2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z",
        *(f"2026-10-25T{h:02}:00:00Z" for h in range(2, 23)))),
    "new-york-spring-forward-nonexistent-02:30": ("2026-03-08", NEW_YORK, ("02:30",), "00:00",
                                                  1, ("2026-03-08T07:30:00Z",)),
    "new-york-fall-back-ambiguous-01:30": ("2026-11-01", NEW_YORK, ("01:30",), "00:00", 1,
                                           ("2026-11-01T05:30:00Z",)),
}  # fmt: skip


@pytest.mark.parametrize(
    "day, tz, times, first, per_day, expected", ROUND_TIME_CASES.values(),
    ids=ROUND_TIME_CASES.keys(),
)  # fmt: skip
def test_round_times(
    day: str, tz: ZoneInfo, times: tuple[str, ...], first: str, per_day: int,
    expected: tuple[str, ...],
) -> None:  # fmt: skip
    got = round_times(date.fromisoformat(day), tz, times=times, first=first, per_day=per_day)
    assert got == tuple(at(t) for t in expected)
    assert all(t.tzinfo is UTC for t in got)


@pytest.mark.parametrize(
    "times, first, per_day, message",
    [
        ((), "08:00", 0, "per_day must be at least 1"),
        (("08:00",), "08:00", 0, "per_day must be at least 1"),
        (("24:00",), "08:00", 1, "'24:00' is not a time of day"),
        ((), "24:00", 5, "'24:00' is not a time of day"),
        (("-1:30",), "08:00", 1, "'-1:30' is not a time of day"),
    ],
    ids=["per-day-0", "per-day-0-with-times", "time-24:00", "first-24:00", "negative-time"],
)
def test_round_times_refuses(
    times: tuple[str, ...], first: str, per_day: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        round_times(date(2026, 3, 10), SHANGHAI, times=times, first=first, per_day=per_day)


Expected = tuple[tuple[RoundStatus, int | None], ...]  # (status, record id of its scan)
LATE = "18:00"
# due (local), scans (local), now, grace_s -> per round in due order
ROUND_CASES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, float, Expected]] = {
    "scan-29-min-before-due": (("10:00",), ("09:31",), LATE, 1800, ((DONE, 1),)),
    "scan-29-min-after-due": (("10:00",), ("10:29",), LATE, 1800, ((DONE, 1),)),
    "scan-exactly-at-window-start": (("10:00",), ("09:30",), LATE, 1800, ((DONE, 1),)),
    "scan-exactly-at-window-end": (("10:00",), ("10:30",), LATE, 1800, ((DONE, 1),)),
    "scan-1s-before-window": (("10:00",), ("09:29:59",), LATE, 1800, ((OVERDUE, None),)),
    "scan-1s-after-window": (("10:00",), ("10:30:01",), LATE, 1800, ((OVERDUE, None),)),
    "earliest-scan-in-window-wins": (("10:00",), ("10:10", "09:40"), LATE, 1800, ((DONE, 2),)),
    "grace-0-exact-hit": (("10:00",), ("10:00",), LATE, 0, ((DONE, 1),)),
    "grace-0-one-second-late": (("10:00",), ("10:00:01",), LATE, 0, ((OVERDUE, None),)),
    # the windows 09:30-10:30 and 10:00-11:00 overlap; one scan does one round
    "overlap-one-scan-second-overdue": (("10:00", "10:30"), ("10:15",), LATE, 1800,
                                        ((DONE, 1), (OVERDUE, None))),
    "overlap-one-scan-second-still-due": (("10:00", "10:30"), ("10:15",), "10:40", 1800,
                                          ((DONE, 1), (DUE, None))),
    "overlap-second-gets-the-next-scan": (("10:00", "10:30"), ("10:20", "10:15"), LATE, 1800,
                                          ((DONE, 2), (DONE, 1))),
    "rounds-judged-in-due-order": (("14:00", "10:00"), ("14:00",), LATE, 1800,
                                   ((OVERDUE, None), (DONE, 1))),
    "a-scan-between-windows-does-nothing": (("10:00", "14:00"), ("12:00",), LATE, 1800,
                                            ((OVERDUE, None), (OVERDUE, None))),
    "1s-before-the-window-upcoming": (("10:00",), (), "09:29:59", 1800, ((UPCOMING, None),)),
    "window-start-due": (("10:00",), (), "09:30", 1800, ((DUE, None),)),
    "at-due-time-due": (("10:00",), (), "10:00", 1800, ((DUE, None),)),
    "window-end-still-due": (("10:00",), (), "10:30", 1800, ((DUE, None),)),
    "1s-past-window-end-overdue": (("10:00",), (), "10:30:01", 1800, ((OVERDUE, None),)),
    "statuses-across-the-day": (("08:00", "12:00", "16:00", "20:00"), ("08:10",), "15:45",
                                1800, ((DONE, 1), (OVERDUE, None), (DUE, None),
                                       (UPCOMING, None))),
}  # fmt: skip


@pytest.mark.parametrize(
    "due, times, now, grace_s, expected", ROUND_CASES.values(), ids=ROUND_CASES.keys()
)
def test_judge_rounds(
    due: tuple[str, ...], times: tuple[str, ...], now: str, grace_s: float, expected: Expected
) -> None:
    states = judge_rounds([at(d) for d in due], scans(times), now=at(now), grace_s=grace_s)
    got = tuple((s.status, None if s.scan is None else s.scan.record_id) for s in states)
    assert got == expected
    grace = timedelta(seconds=grace_s)
    windows = [(s.due_at, s.window_start, s.window_end) for s in states]
    assert windows == [(d, d - grace, d + grace) for d in sorted(at(t) for t in due)]


def test_round_due_at_comes_out_in_utc() -> None:
    local = datetime(2026, 3, 10, 10, tzinfo=SHANGHAI)
    (state,) = judge_rounds([local], [], now=at(LATE), grace_s=1800)
    assert (state.due_at, state.due_at.tzinfo) == (at("10:00"), UTC)


def test_a_tie_in_a_round_window_goes_to_the_lower_record_id() -> None:
    tied = [ScanRecord(at("10:05"), "g1", "qr", 9), ScanRecord(at("10:05"), "g2", "qr", 4)]
    states = judge_rounds([at("10:00"), at("10:20")], tied, now=at(LATE), grace_s=1800)
    assert [s.scan.record_id if s.scan else None for s in states] == [4, 9]


# A round's window is cut at the day's edges: only the day's scans can do its rounds.
def test_rounds_of_a_day_see_only_that_days_scans() -> None:
    result = judge_patrol_day(
        scans(("2026-03-09 23:50", "2026-03-11 00:10", "12:00")),
        day=date(2026, 3, 10),
        tz=SHANGHAI,
        now=at("2026-03-12 00:00"),
        required=1,
        min_spacing_s=3600,
        rounds=[at("00:10"), at("11:50"), at("23:50")],
        grace_s=1800,
    )
    assert [(s.status, s.scan) for s in result.rounds] == [
        (OVERDUE, None),
        (DONE, result.scans[0]),
        (OVERDUE, None),
    ]


# `ordered.index(scan)` marks the first *equal* record used, not the one taken: a record passed
# twice does every round whose window holds it (here 3 rounds from 2 copies).
def test_a_duplicated_scan_does_one_round() -> None:
    once = scans(("10:10",))
    due = [at("10:00"), at("10:20"), at("10:30")]
    twice = judge_rounds(due, once + once, now=at(LATE), grace_s=1800)
    assert [s.status for s in twice] == [DONE, OVERDUE, OVERDUE]
    assert twice == judge_rounds(due, once, now=at(LATE), grace_s=1800)


BASE = at("08:00")


@st.composite
def scan_lists(draw: st.DrawFn) -> list[ScanRecord]:
    # whole minutes mostly, so scans tie and land exactly on the spacing
    offsets = draw(st.lists(st.integers(0, 600), max_size=30))
    seconds = draw(st.lists(st.sampled_from([0, 0, 0, 1, 59]), min_size=len(offsets)))
    record_ids = draw(st.permutations(range(len(offsets))))
    return [
        ScanRecord(BASE + timedelta(minutes=m, seconds=s), "g1", "qr", i)
        for m, s, i in zip(offsets, seconds, record_ids, strict=False)
    ]


SPACINGS = st.sampled_from([0, 1, 59, 60, 600, 1800, 3600, 7200])


@given(scan_lists(), SPACINGS, st.randoms(use_true_random=False))
def test_counted_follows_the_plain_definition(
    records: list[ScanRecord], spacing: int, rnd: random.Random
) -> None:
    ordered = sorted(records, key=lambda s: (s.scanned_at, s.record_id))
    shuffled = list(records)
    rnd.shuffle(shuffled)
    counted = count_patrols(shuffled, min_spacing_s=spacing)
    assert counted == count_patrols(ordered, min_spacing_s=spacing)
    # a subsequence of the sorted scans, starting with the first
    positions = [ordered.index(c) for c in counted]
    assert positions == sorted(set(positions))
    assert (positions[:1] == [0]) if ordered else counted == ()
    gap = timedelta(seconds=spacing)
    assert all(b.scanned_at - a.scanned_at >= gap for a, b in itertools.pairwise(counted))
    # every scan left out is under the spacing after the last counted one before it
    last = None
    for scan in ordered:
        if scan in counted:
            last = scan
        else:
            assert last is not None
            assert scan.scanned_at - last.scanned_at < gap


@given(scan_lists(), SPACINGS, SPACINGS)
def test_more_spacing_never_counts_more(records: list[ScanRecord], a: int, b: int) -> None:
    low, high = sorted((a, b))
    assert len(count_patrols(records, min_spacing_s=low)) >= len(
        count_patrols(records, min_spacing_s=high)
    )
    assert len(count_patrols(records, min_spacing_s=0)) == len(records)


@given(scan_lists(), st.lists(st.integers(0, 600), max_size=8), st.sampled_from([0, 60, 1800]))
def test_each_scan_does_at_most_one_round_within_its_window(
    records: list[ScanRecord], due_minutes: list[int], grace_s: int
) -> None:
    due = [BASE + timedelta(minutes=m) for m in due_minutes]
    states = judge_rounds(due, records, now=BASE + timedelta(days=1), grace_s=grace_s)
    taken = [s.scan.record_id for s in states if s.scan is not None]
    assert len(taken) == len(set(taken))
    for s in states:
        assert (s.status is DONE) == (s.scan is not None)
        assert s.status in (DONE, OVERDUE)
        if s.scan is not None:
            assert s.window_start <= s.scan.scanned_at <= s.window_end
