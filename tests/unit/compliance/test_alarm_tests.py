"""Every alarm button tested at least once a month, with the police receipt: each test and
each button's local month, by tables of test records."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.compliance.alarm_tests import (
    ButtonMonth,
    Receipt,
    judge_button_month,
    judge_test,
    month_window,
    parse_month,
)
from gateway.compliance.alarm_tests import TestRecord as Record
from gateway.compliance.alarm_tests import TestResult as Result

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")
PASSED, PENDING, FAILED = Result.PASSED, Result.PENDING, Result.FAILED


def at(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    """'2026-03-10 12:00[:30]' in `tz`, or '...Z' in UTC; returned in UTC."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


def ack(endpoint_id: str, when: str, latency_s: float | None = 1.5) -> Receipt:
    return Receipt(endpoint_id, at(when), latency_s)


def silent(endpoint_id: str, latency_s: float | None = None) -> Receipt:
    return Receipt(endpoint_id, None, latency_s)


# month (any day of it), tz -> UTC start, UTC end, hours
WINDOW_CASES: dict[str, tuple[str, ZoneInfo, str, str, int]] = {
    "shanghai-march": ("2026-03-01", SHANGHAI, "2026-02-28T16:00:00Z", "2026-03-31T16:00:00Z",
                       744),
    "shanghai-any-day-of-the-month": ("2026-03-17", SHANGHAI, "2026-02-28T16:00:00Z",
                                      "2026-03-31T16:00:00Z", 744),
    "shanghai-last-day-of-the-month": ("2026-03-31", SHANGHAI, "2026-02-28T16:00:00Z",
                                       "2026-03-31T16:00:00Z", 744),
    "shanghai-april-30-days": ("2026-04-01", SHANGHAI, "2026-03-31T16:00:00Z",
                               "2026-04-30T16:00:00Z", 720),
    "shanghai-february-28-days": ("2026-02-10", SHANGHAI, "2026-01-31T16:00:00Z",
                                  "2026-02-28T16:00:00Z", 672),
    "shanghai-leap-february-29-days": ("2028-02-29", SHANGHAI, "2028-01-31T16:00:00Z",
                                       "2028-02-29T16:00:00Z", 696),
    "shanghai-december-ends-in-the-next-year": ("2026-12-01", SHANGHAI, "2026-11-30T16:00:00Z",
                                                "2026-12-31T16:00:00Z", 744),
    "shanghai-january-starts-in-the-year-before-utc": ("2027-01-01", SHANGHAI,
                                                       "2026-12-31T16:00:00Z",
                                                       "2027-01-31T16:00:00Z", 744),
    "utc-january": ("2026-01-15", ZoneInfo("UTC"), "2026-01-01T00:00:00Z",
                    "2026-02-01T00:00:00Z", 744),
    "berlin-march-743h": ("2026-03-01", BERLIN, "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z",
                          743),
    "berlin-october-745h": ("2026-10-01", BERLIN, "2026-09-30T22:00:00Z",
                            "2026-10-31T23:00:00Z", 745),
    "berlin-july-summer-time": ("2026-07-01", BERLIN, "2026-06-30T22:00:00Z",
                                "2026-07-31T22:00:00Z", 744),
    "new-york-march-743h": ("2026-03-01", NEW_YORK, "2026-03-01T05:00:00Z",
                            "2026-04-01T04:00:00Z", 743),
    "new-york-november-721h": ("2026-11-01", NEW_YORK, "2026-11-01T04:00:00Z",
                               "2026-12-01T05:00:00Z", 721),
    # Havana falls back at 01:00 on 2026-11-01: midnight happens twice, November begins at
    # the first one
    "havana-november-begins-at-the-first-of-two-midnights": ("2026-11-01", HAVANA,
                                                             "2026-11-01T04:00:00Z",
                                                             "2026-12-01T05:00:00Z", 721),
    "kolkata-half-hour-offset": ("2026-06-01", ZoneInfo("Asia/Kolkata"), "2026-05-31T18:30:00Z",
                                 "2026-06-30T18:30:00Z", 720),
}  # fmt: skip


@pytest.mark.parametrize(
    "month, tz, start, end, hours", WINDOW_CASES.values(), ids=WINDOW_CASES.keys()
)
def test_month_window(month: str, tz: ZoneInfo, start: str, end: str, hours: int) -> None:
    got = month_window(date.fromisoformat(month), tz)
    assert got == (at(start), at(end))
    assert (got[0].tzinfo, got[1].tzinfo) == (UTC, UTC)
    assert got[1] - got[0] == timedelta(hours=hours)


def test_month_window_refuses_a_datetime() -> None:
    with pytest.raises(ValueError, match="month must be a date, not the datetime 2026-03-10T"):
        month_window(datetime(2026, 3, 10, 12, tzinfo=SHANGHAI), SHANGHAI)


PARSE_CASES: dict[str, tuple[str, date]] = {
    "january": ("2026-01", date(2026, 1, 1)),
    "december": ("2026-12", date(2026, 12, 1)),
    "leap-february": ("2028-02", date(2028, 2, 1)),
    "year-0001": ("0001-01", date(1, 1, 1)),
    "year-9999": ("9999-12", date(9999, 12, 1)),
}


@pytest.mark.parametrize("text, expected", PARSE_CASES.values(), ids=PARSE_CASES.keys())
def test_parse_month(text: str, expected: date) -> None:
    assert parse_month(text) == expected


BAD_MONTHS: dict[str, tuple[str, str]] = {
    "month-13": ("2026-13", "'2026-13' is not a month: the month must be 01 to 12"),
    "month-00": ("2026-00", "'2026-00' is not a month: the month must be 01 to 12"),
    "year-0000": ("0000-01", "'0000-01' is not a month: the year must be 0001 or later"),
    "one-digit-month": ("2026-1", "'2026-1' is not a month: expected YYYY-MM"),
    "two-digit-year": ("26-01", "'26-01' is not a month: expected YYYY-MM"),
    "a-date": ("2026-01-05", "'2026-01-05' is not a month: expected YYYY-MM"),
    "empty": ("", "'' is not a month: expected YYYY-MM"),
    "slash": ("2026/01", "'2026/01' is not a month: expected YYYY-MM"),
    "leading-space": (" 2026-01", "' 2026-01' is not a month: expected YYYY-MM"),
    "trailing-newline": ("2026-01\n", "'2026-01\\n' is not a month: expected YYYY-MM"),
    "full-width-digits": ("２０２６-０１", "'２０２６-０１' is not a month: expected YYYY-MM"),
    "compact": ("202601", "'202601' is not a month: expected YYYY-MM"),
    "sign": ("+2026-01", "'+2026-01' is not a month: expected YYYY-MM"),
}


@pytest.mark.parametrize("text, message", BAD_MONTHS.values(), ids=BAD_MONTHS.keys())
def test_parse_month_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        parse_month(text)


RECEIVED = "2026-03-10 10:00"


@dataclass(frozen=True, kw_only=True)
class Press:
    receipts: tuple[Receipt, ...]
    now: str
    pending_s: float = 300
    occurred: str = "2026-03-10 09:59:58"
    received: str = RECEIVED
    result: Result
    first_at: str | None = None
    latency_s: float | None = None


TEST_CASES = {
    "no-receipt-just-received-pending": Press(receipts=(), now=RECEIVED, result=PENDING),
    "no-receipt-1s-before-pending_s-pending": Press(
        receipts=(), now="2026-03-10 10:04:59", result=PENDING),
    "no-receipt-exactly-at-pending_s-failed": Press(
        receipts=(), now="2026-03-10 10:05", result=FAILED),
    "no-receipt-long-after-failed": Press(receipts=(), now="2026-03-20 10:00", result=FAILED),
    "endpoint-not-acknowledged-yet-pending": Press(
        receipts=(silent("sia-1"),), now="2026-03-10 10:01", result=PENDING),
    "endpoints-never-acknowledged-failed": Press(
        receipts=(silent("sia-1", 10.0), silent("http-1")), now="2026-03-10 10:05",
        result=FAILED),
    "acknowledged-within-pending_s-passed": Press(
        receipts=(ack("sia-1", "2026-03-10 10:00:02", 1.8),), now="2026-03-10 10:01",
        result=PASSED, first_at="2026-03-10 10:00:02", latency_s=1.8),
    "acknowledged-passes-before-pending_s-has-run": Press(
        receipts=(ack("sia-1", "2026-03-10 10:00:02", 1.8),), now=RECEIVED, result=PASSED,
        first_at="2026-03-10 10:00:02", latency_s=1.8),
    "acknowledged-an-hour-late-still-passes": Press(
        receipts=(ack("sia-1", "2026-03-10 11:00", 3600.0),), now="2026-03-10 12:00",
        result=PASSED, first_at="2026-03-10 11:00", latency_s=3600.0),
    "one-of-three-endpoints-acknowledged-passed": Press(
        receipts=(silent("sia-1"), ack("http-1", "2026-03-10 10:00:04", 4.0), silent("sia-2")),
        now="2026-03-10 10:30", result=PASSED, first_at="2026-03-10 10:00:04", latency_s=4.0),
    # http-1 answered first but slowly; sia-1 was sent on a retry and answered fast
    "first-at-is-the-earliest-latency-the-smallest": Press(
        receipts=(ack("sia-1", "2026-03-10 10:00:09", 0.4), ack("http-1", "2026-03-10 10:00:03",
                                                                2.5)),
        now="2026-03-10 10:30", result=PASSED, first_at="2026-03-10 10:00:03", latency_s=0.4),
    "latency-of-an-unacknowledged-receipt-is-ignored": Press(
        receipts=(silent("sia-1", 0.1), ack("http-1", "2026-03-10 10:00:03", 2.5)),
        now="2026-03-10 10:30", result=PASSED, first_at="2026-03-10 10:00:03", latency_s=2.5),
    "acknowledged-without-latency": Press(
        receipts=(ack("sia-1", "2026-03-10 10:00:03", None),), now="2026-03-10 10:30",
        result=PASSED, first_at="2026-03-10 10:00:03", latency_s=None),
    "latency-from-the-receipt-that-has-one": Press(
        receipts=(ack("sia-1", "2026-03-10 10:00:03", None),
                  ack("http-1", "2026-03-10 10:00:05", 5.0)),
        now="2026-03-10 10:30", result=PASSED, first_at="2026-03-10 10:00:03", latency_s=5.0),
    "pending_s-0-no-receipt-failed-at-once": Press(
        receipts=(), now=RECEIVED, pending_s=0, result=FAILED),
    "fractional-pending_s": Press(
        receipts=(), now="2026-03-10 10:00:00.400", pending_s=0.5, result=PENDING),
    # the device clock is an hour behind: pending_s runs from when the gateway received it
    "pending-from-received-not-from-the-press": Press(
        receipts=(), occurred="2026-03-10 09:00", now="2026-03-10 10:04", result=PENDING),
    "received-after-now-still-pending": Press(
        receipts=(), now="2026-03-10 09:59", result=PENDING),
}  # fmt: skip


@pytest.mark.parametrize("case", TEST_CASES.values(), ids=TEST_CASES.keys())
def test_judge_test(case: Press) -> None:
    record = Record("a1", at(case.occurred), at(case.received), case.receipts)
    judged = judge_test(record, now=at(case.now), pending_s=case.pending_s)
    assert judged.record is record
    assert judged.result is case.result
    assert judged.first_receipt_at == (None if case.first_at is None else at(case.first_at))
    assert judged.receipt_latency_s == case.latency_s


def test_first_receipt_at_comes_out_in_utc() -> None:
    local = datetime(2026, 3, 10, 10, 0, 2, tzinfo=SHANGHAI)
    record = Record("a1", at(RECEIVED), at(RECEIVED), (Receipt("sia-1", local, 2.0),))
    judged = judge_test(record, now=at("2026-03-11 00:00"), pending_s=300)
    assert judged.first_receipt_at is not None
    assert (judged.first_receipt_at, judged.first_receipt_at.tzinfo) == (
        datetime(2026, 3, 10, 2, 0, 2, tzinfo=UTC),
        UTC,
    )


NAIVE = datetime(2026, 3, 10, 10)
AWARE = at(RECEIVED)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Record("a1", NAIVE, AWARE, ()), "occurred_at of test a1 must be timezone-aware"),
        (lambda: Record("a1", AWARE, NAIVE, ()), "received_at of test a1 must be timezone-aware"),
        (lambda: Receipt("sia-1", NAIVE, 1.0), "acknowledged_at of receipt sia-1 must be"),
        (lambda: Receipt("sia-1", AWARE, -0.5), "latency_s of receipt sia-1 must be a non-neg"),
        (lambda: Receipt("sia-1", AWARE, float("nan")), "latency_s of receipt sia-1 must be"),
        (lambda: Receipt("sia-1", AWARE, math.inf), "latency_s of receipt sia-1 must be"),
        (lambda: judge_test(Record("a1", AWARE, AWARE, ()), now=NAIVE, pending_s=300),
         "now must be timezone-aware, got naive 2026-03-10T10:00:00"),
        (lambda: judge_test(Record("a1", AWARE, AWARE, ()), now=AWARE, pending_s=-1),
         "pending_s must not be negative, got -1"),
    ],
    ids=["naive-occurred_at", "naive-received_at", "naive-acknowledged_at", "negative-latency",
         "nan-latency", "infinite-latency", "naive-now", "negative-pending_s"],
)  # fmt: skip
def test_bad_input_is_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


# (alarm_id, press time, "ack" | "none" | "late"); the gateway receives each press 2 s later;
# "ack" is acknowledged 3 s after the press, "late" a day after it
Row = tuple[str, str, str]


def records(rows: tuple[Row, ...], tz: ZoneInfo = SHANGHAI) -> list[Record]:
    made = []
    for alarm_id, when, receipt in rows:
        pressed = at(when, tz)
        acked = {"ack": timedelta(seconds=3), "late": timedelta(days=1)}.get(receipt)
        receipts = (silent("http-1"),) + (
            () if acked is None else (Receipt("sia-1", pressed + acked, 2.0),)
        )
        made.append(Record(alarm_id, pressed, pressed + timedelta(seconds=2), receipts))
    return made


@dataclass(frozen=True, kw_only=True)
class Month:
    rows: tuple[Row, ...]  # in the zone `tz`, or '...Z'
    month: str = "2026-03-01"
    tz: str = "Asia/Shanghai"
    now: str = "2026-04-05 00:00"
    required: int = 1
    pending_s: float = 300
    remind_days: int = 7
    window: tuple[str, str] = ("2026-03-01 00:00", "2026-04-01 00:00")
    complete: bool = True
    tests: tuple[tuple[str, Result], ...]  # (alarm_id, result), in time order
    passed: int
    compliant: bool
    days_left: int = 0
    due_soon: bool = False
    overdue: bool


IN_PROGRESS = ("2026-03-01 00:00", "2026-03-20 12:00")
MAR_31 = "2026-03-31T16:30:00Z"  # April 1st, 00:30 in Shanghai
BERLIN_MARCH = ("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z")

MONTH_CASES = {
    "no-tests-overdue": Month(rows=(), tests=(), passed=0, compliant=False, overdue=True),
    "one-passed-compliant": Month(
        rows=(("a1", "2026-03-10 10:00", "ack"),), tests=(("a1", PASSED),), passed=1,
        compliant=True, overdue=False),
    "one-failed-overdue": Month(
        rows=(("a1", "2026-03-10 10:00", "none"),), tests=(("a1", FAILED),), passed=0,
        compliant=False, overdue=True),
    "a-receipt-a-day-late-still-passes": Month(
        rows=(("a1", "2026-03-10 10:00", "late"),), tests=(("a1", PASSED),), passed=1,
        compliant=True, overdue=False),
    "failed-then-retested-compliant": Month(
        rows=(("a2", "2026-03-10 10:10", "ack"), ("a1", "2026-03-10 10:00", "none")),
        tests=(("a1", FAILED), ("a2", PASSED)), passed=1, compliant=True, overdue=False),
    "required-2-one-passed-one-failed": Month(
        rows=(("a1", "2026-03-10 10:00", "ack"), ("a2", "2026-03-20 10:00", "none")),
        required=2, tests=(("a1", PASSED), ("a2", FAILED)), passed=1, compliant=False,
        overdue=True),
    "required-2-two-passed": Month(
        rows=(("a1", "2026-03-10 10:00", "ack"), ("a2", "2026-03-20 10:00", "late")),
        required=2, tests=(("a1", PASSED), ("a2", PASSED)), passed=2, compliant=True,
        overdue=False),
    "one-record-given-twice-counts-once": Month(
        rows=(("a1", "2026-03-10 10:00", "ack"), ("a1", "2026-03-10 10:00", "ack")),
        required=2, tests=(("a1", PASSED),), passed=1, compliant=False, overdue=True),
    "time-order-and-a-tie-by-alarm-id": Month(
        rows=(("c", "2026-03-20 10:00", "ack"), ("b", "2026-03-05 10:00", "none"),
              ("a", "2026-03-20 10:00", "none")),
        tests=(("b", FAILED), ("a", FAILED), ("c", PASSED)), passed=1, compliant=True,
        overdue=False),
    "local-midnight-edges": Month(
        rows=(("before", "2026-02-28 23:59:59", "ack"), ("first", "2026-03-01 00:00", "none"),
              ("last", "2026-03-31 23:59:59", "none"), ("after", "2026-04-01 00:00", "ack")),
        tests=(("first", FAILED), ("last", FAILED)), passed=0, compliant=False, overdue=True),
    "shanghai-utc-16:30-on-march-31-counts-in-april": Month(
        rows=(("apr", MAR_31, "ack"), ("mar", "2026-03-31T15:59:59Z", "ack")),
        month="2026-04-01", now="2026-05-01 00:00",
        window=("2026-04-01 00:00", "2026-05-01 00:00"), tests=(("apr", PASSED),), passed=1,
        compliant=True, overdue=False),
    "shanghai-utc-15:59:59-on-march-31-counts-in-march": Month(
        rows=(("apr", MAR_31, "ack"), ("mar", "2026-03-31T15:59:59Z", "none")),
        tests=(("mar", FAILED),), passed=0, compliant=False, overdue=True),
    "december-keeps-new-years-eve": Month(
        rows=(("dec", "2026-12-31 23:59:59", "ack"), ("jan", "2027-01-01 00:00", "none")),
        month="2026-12-01", now="2027-01-10 00:00",
        window=("2026-12-01 00:00", "2027-01-01 00:00"), tests=(("dec", PASSED),), passed=1,
        compliant=True, overdue=False),
    "january-starts-at-new-year": Month(
        rows=(("dec", "2026-12-31 23:59:59", "ack"), ("jan", "2027-01-01 00:00", "none")),
        month="2027-01-20", now="2027-01-10 00:00",
        window=("2027-01-01 00:00", "2027-01-10 00:00"), complete=False,
        tests=(("jan", FAILED),), passed=0, compliant=False, days_left=22, overdue=False),
    "berlin-march-743h-edges": Month(
        rows=(("first", "2026-02-28T23:00:00Z", "ack"), ("before", "2026-02-28T22:59:59Z", "ack"),
              ("last", "2026-03-31T21:59:59Z", "none"), ("after", "2026-03-31T22:00:00Z", "ack")),
        tz="Europe/Berlin", window=BERLIN_MARCH, tests=(("first", PASSED), ("last", FAILED)),
        passed=1, compliant=True, overdue=False),
    "berlin-october-745h-23:30-cet-on-the-31st-counts": Month(
        rows=(("last", "2026-10-31T22:30:00Z", "ack"), ("after", "2026-10-31T23:00:00Z", "ack")),
        tz="Europe/Berlin", month="2026-10-01", now="2026-11-02 00:00",
        window=("2026-09-30T22:00:00Z", "2026-10-31T23:00:00Z"), tests=(("last", PASSED),),
        passed=1, compliant=True, overdue=False),
    # received 58 s before now, within pending_s
    "pending-in-a-month-in-progress-is-not-passed": Month(
        rows=(("a1", "2026-03-20 11:59:00", "none"),), now=IN_PROGRESS[1], window=IN_PROGRESS,
        complete=False, tests=(("a1", PENDING),), passed=0, compliant=False, days_left=12,
        overdue=False),
    "pending-at-the-months-end-is-overdue": Month(
        rows=(("a1", "2026-03-31 23:59:00", "none"),), now="2026-04-01 00:00",
        tests=(("a1", PENDING),), passed=0, compliant=False, overdue=True),
    # a clock ahead: a press after now is not believed until its time comes
    "a-press-after-now-is-ignored": Month(
        rows=(("now", "2026-03-20 11:50", "ack"), ("ahead", "2026-03-20 12:00:01", "ack")),
        now=IN_PROGRESS[1], window=IN_PROGRESS, complete=False, tests=(("now", PASSED),),
        passed=1, compliant=True, days_left=12, overdue=False),
    "a-press-exactly-at-now-counts": Month(
        rows=(("now", "2026-03-20 12:00", "ack"),), now=IN_PROGRESS[1], window=IN_PROGRESS,
        complete=False, tests=(("now", PASSED),), passed=1, compliant=True, days_left=12,
        overdue=False),
    "in-progress-not-yet-due": Month(
        rows=(), now=IN_PROGRESS[1], window=IN_PROGRESS, complete=False, tests=(), passed=0,
        compliant=False, days_left=12, overdue=False),
    "first-day-31-days-left": Month(
        rows=(), now="2026-03-01 00:00", window=("2026-03-01 00:00",) * 2, complete=False,
        tests=(), passed=0, compliant=False, days_left=31, overdue=False),
    "days-left-remind_days-plus-1-not-due-soon": Month(
        rows=(), now="2026-03-24 23:59:59", window=("2026-03-01 00:00", "2026-03-24 23:59:59"),
        complete=False, tests=(), passed=0, compliant=False, days_left=8, overdue=False),
    "days-left-equal-to-remind_days-due-soon": Month(
        rows=(), now="2026-03-25 00:00", window=("2026-03-01 00:00", "2026-03-25 00:00"),
        complete=False, tests=(), passed=0, compliant=False, days_left=7, due_soon=True,
        overdue=False),
    "last-day-1-day-left-due-soon": Month(
        rows=(), now="2026-03-31 23:59:59", window=("2026-03-01 00:00", "2026-03-31 23:59:59"),
        complete=False, tests=(), passed=0, compliant=False, days_left=1, due_soon=True,
        overdue=False),
    "last-day-remind_days-0-not-due-soon": Month(
        rows=(), now="2026-03-31 00:00", remind_days=0,
        window=("2026-03-01 00:00", "2026-03-31 00:00"), complete=False, tests=(), passed=0,
        compliant=False, days_left=1, overdue=False),
    "last-day-compliant-not-due-soon": Month(
        rows=(("a1", "2026-03-02 10:00", "ack"),), now="2026-03-31 12:00",
        window=("2026-03-01 00:00", "2026-03-31 12:00"), complete=False,
        tests=(("a1", PASSED),), passed=1, compliant=True, days_left=1, overdue=False),
    "last-day-failed-test-still-due-soon": Month(
        rows=(("a1", "2026-03-31 10:00", "none"),), now="2026-03-31 12:00",
        window=("2026-03-01 00:00", "2026-03-31 12:00"), complete=False,
        tests=(("a1", FAILED),), passed=0, compliant=False, days_left=1, due_soon=True,
        overdue=False),
    "complete-exactly-at-the-next-months-start": Month(
        rows=(), now="2026-04-01 00:00", tests=(), passed=0, compliant=False, overdue=True),
    # days are counted on the local calendar: 2026-03-30T16:00Z is March 31st in Shanghai
    "days-left-by-the-local-day-shanghai-31st": Month(
        rows=(), now="2026-03-30T16:00:00Z", window=("2026-03-01 00:00", "2026-03-31 00:00"),
        complete=False, tests=(), passed=0, compliant=False, days_left=1, due_soon=True,
        overdue=False),
    "days-left-by-the-local-day-shanghai-30th": Month(
        rows=(), now="2026-03-30T15:59:59Z", window=("2026-03-01 00:00", "2026-03-30 23:59:59"),
        complete=False, tests=(), passed=0, compliant=False, days_left=2, due_soon=True,
        overdue=False),
    "berlin-last-day-until-22:00-utc": Month(
        rows=(), tz="Europe/Berlin", now="2026-03-31T21:59:59Z",
        window=(BERLIN_MARCH[0], "2026-03-31T21:59:59Z"), complete=False, tests=(), passed=0,
        compliant=False, days_left=1, due_soon=True, overdue=False),
    "berlin-complete-at-22:00-utc": Month(
        rows=(), tz="Europe/Berlin", now="2026-03-31T22:00:00Z", window=BERLIN_MARCH,
        tests=(), passed=0, compliant=False, overdue=True),
    "not-begun-empty-window-31-days-left": Month(
        rows=(("a1", "2026-02-20 10:00", "ack"),), now="2026-02-20 12:00",
        window=("2026-03-01 00:00",) * 2, complete=False, tests=(), passed=0, compliant=False,
        days_left=31, overdue=False),
    # nothing can be done for it yet (a test now counts in February), whatever remind_days is
    "not-begun-never-due-soon": Month(
        rows=(), now="2026-02-28 23:59:59", remind_days=31, window=("2026-03-01 00:00",) * 2,
        complete=False, tests=(), passed=0, compliant=False, days_left=31, overdue=False),
    "not-begun-leap-february-29-days-left": Month(
        rows=(), month="2028-02-01", now="2028-01-15 00:00",
        window=("2028-02-01 00:00",) * 2, complete=False, tests=(), passed=0,
        compliant=False, days_left=29, overdue=False),
}  # fmt: skip


def judge_month(case: Month) -> ButtonMonth:
    tz = ZoneInfo(case.tz)
    return judge_button_month(
        records(case.rows, tz),
        month=date.fromisoformat(case.month),
        tz=tz,
        now=at(case.now, tz),
        required=case.required,
        pending_s=case.pending_s,
        remind_days=case.remind_days,
    )


@pytest.mark.parametrize("case", MONTH_CASES.values(), ids=MONTH_CASES.keys())
def test_judge_button_month(case: Month) -> None:
    tz = ZoneInfo(case.tz)
    got = judge_month(case)
    assert tuple((t.record.alarm_id, t.result) for t in got.tests) == case.tests
    assert (got.window_start, got.window_end) == tuple(at(t, tz) for t in case.window)
    assert (got.window_start.tzinfo, got.window_end.tzinfo) == (UTC, UTC)
    assert got.month == date.fromisoformat(case.month).replace(day=1)
    assert (got.required, got.passed, got.compliant) == (
        case.required,
        case.passed,
        case.compliant,
    )
    assert (got.complete, got.days_left, got.due_soon, got.overdue) == (
        case.complete,
        case.days_left,
        case.due_soon,
        case.overdue,
    )


def test_a_copy_read_after_the_receipt_adds_it() -> None:
    before = Record("a1", at("2026-03-10 10:00"), at("2026-03-10 10:00:02"), (silent("sia-1"),))
    receipt = ack("sia-1", "2026-03-10 10:00:05", 3.0)
    after = replace(before, receipts=(receipt,))
    got = judge_march([before, after])
    (test,) = got.tests
    assert test.record == replace(before, receipts=(silent("sia-1"), receipt))
    assert (test.result, test.first_receipt_at, test.receipt_latency_s) == (
        PASSED,
        at("2026-03-10 10:00:05"),
        3.0,
    )
    assert (got.passed, got.compliant) == (1, True)


def test_copies_that_disagree_on_the_time_are_refused() -> None:
    one = Record("a1", at("2026-03-10 10:00"), at("2026-03-10 10:00:02"), ())
    other = replace(one, occurred_at=at("2026-03-10 11:00"))
    with pytest.raises(ValueError, match="two records of test a1 disagree on its times"):
        judge_march([one, other])


def test_the_same_instant_in_another_zone_is_the_same_record() -> None:
    one = Record("a1", at("2026-03-10 10:00"), at("2026-03-10 10:00:02"), ())
    other = Record(
        "a1", one.occurred_at.astimezone(BERLIN), one.received_at.astimezone(SHANGHAI), ()
    )
    got = judge_march([one, other])
    assert [(t.record, t.result) for t in got.tests] == [(one, FAILED)]


def judge_march(
    given: list[Record],
    *,
    month: date = date(2026, 3, 1),
    now: datetime = at("2026-04-01 00:00"),
    required: int = 1,
    pending_s: float = 300,
    remind_days: int = 7,
) -> ButtonMonth:
    return judge_button_month(
        given, month=month, tz=SHANGHAI, now=now, required=required, pending_s=pending_s,
        remind_days=remind_days,
    )  # fmt: skip


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: judge_march([], required=0), "required must be at least 1, got 0"),
        (lambda: judge_march([], pending_s=-0.001), "pending_s must not be negative, got -0.001"),
        (lambda: judge_march([], pending_s=math.nan), "pending_s must not be negative, got nan"),
        (lambda: judge_march([], remind_days=-1), "remind_days must not be negative, got -1"),
        (lambda: judge_march([], now=datetime(2026, 3, 10)), "now must be timezone-aware"),
        (lambda: judge_march([], month=datetime(2026, 3, 1, tzinfo=UTC)),
         "month must be a date, not the datetime 2026-03-01T00:00:00+00:00"),
    ],
    ids=["required-0", "negative-pending_s", "nan-pending_s", "negative-remind_days",
         "naive-now", "datetime-month"],
)  # fmt: skip
def test_judge_button_month_refuses(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


# Havana falls back at 01:00 on 2026-11-01: a month that begins at the first of two midnights
ZONES = [SHANGHAI, BERLIN, NEW_YORK, HAVANA, ZoneInfo("UTC")]
MONTHS = [date(2026, 3, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)]


@given(st.dates(date(1990, 1, 1), date(2040, 12, 31)), st.sampled_from(ZONES))
def test_months_tile_the_local_calendar(day: date, tz: ZoneInfo) -> None:
    start, end = month_window(day, tz)
    next_start, _ = month_window(end.astimezone(tz).date(), tz)
    assert end == next_start  # the next month begins where this one ends
    tick = timedelta(microseconds=1)
    first = day.replace(day=1)
    assert start.astimezone(tz).date() == first
    assert (end - tick).astimezone(tz).date().replace(day=1) == first
    assert (start - tick).astimezone(tz).date().replace(day=1) != first
    assert end.astimezone(tz).date().replace(day=1) != first


@st.composite
def month_inputs(draw: st.DrawFn) -> tuple[list[Record], date, ZoneInfo, datetime]:
    tz = draw(st.sampled_from(ZONES))
    month = draw(st.sampled_from(MONTHS))
    base = datetime.combine(month, datetime.min.time(), tzinfo=UTC)
    # presses from 3 days before the month to 3 days after it, mostly on whole hours so they
    # land on the month's edges in every zone
    minutes = st.integers(-3 * 1440, 34 * 1440).map(lambda m: m - m % 60 if m % 3 else m)
    rows = draw(st.lists(st.tuples(minutes, st.sampled_from(["ack", "none", "late"])), max_size=12))
    made = records(
        tuple((f"a{i}", (base + timedelta(minutes=m)).isoformat()[:19] + "Z", kind)
              for i, (m, kind) in enumerate(rows)),
    )  # fmt: skip
    copies = draw(st.lists(st.sampled_from(made), max_size=4)) if made else []
    everything = made + copies
    draw(st.randoms(use_true_random=False)).shuffle(everything)
    now = base + timedelta(minutes=draw(minutes))
    return everything, month, tz, now


@given(month_inputs(), st.integers(1, 3), st.integers(0, 40))
def test_the_month_follows_the_plain_definition(
    inputs: tuple[list[Record], date, ZoneInfo, datetime], required: int, remind_days: int
) -> None:
    given_records, month, tz, now = inputs
    got = judge_button_month(
        given_records, month=month, tz=tz, now=now, required=required, pending_s=300,
        remind_days=remind_days,
    )  # fmt: skip
    # the month's tests: each record once, pressed on a local day of the month, by now
    expected = sorted(
        {r for r in given_records if r.occurred_at.astimezone(tz).date().replace(day=1) == month
         and r.occurred_at <= now},
        key=lambda r: (r.occurred_at, r.alarm_id),
    )  # fmt: skip
    assert [t.record for t in got.tests] == expected
    assert [t.result for t in got.tests] == [
        judge_test(r, now=now, pending_s=300).result for r in expected
    ]
    passed = sum(any(x.acknowledged_at for x in r.receipts) for r in expected)
    assert (got.passed, got.compliant) == (passed, passed >= required)
    local_today = now.astimezone(tz).date()
    assert got.complete is (local_today.replace(day=1) > month)
    assert got.window_start <= got.window_end <= max(got.window_start, now)
    if got.complete:
        assert (got.days_left, got.due_soon, got.overdue) == (0, False, not got.compliant)
    else:
        assert got.overdue is False
        assert 1 <= got.days_left <= 31
        assert got.due_soon is (
            local_today >= month and not got.compliant and got.days_left <= remind_days
        )
    assert got == judge_button_month(
        list(reversed(given_records)), month=month, tz=tz, now=now, required=required,
        pending_s=300, remind_days=remind_days,
    )  # fmt: skip


@given(
    st.lists(st.tuples(st.booleans(), st.floats(0, 100)), max_size=4),
    st.floats(0, 1000),
    st.integers(-600, 3600),
    st.integers(0, 3600),
)
def test_a_test_never_comes_back_from_failed_or_passed(
    receipts: list[tuple[bool, float]], pending_s: float, early_s: int, later_s: int
) -> None:
    received = at(RECEIVED)
    record = Record(
        "a1",
        received,
        received,
        tuple(
            Receipt(f"e{i}", received + timedelta(seconds=lat) if acked else None, lat)
            for i, (acked, lat) in enumerate(receipts)
        ),
    )
    now = received + timedelta(seconds=early_s)
    first = judge_test(record, now=now, pending_s=pending_s)
    later = judge_test(record, now=now + timedelta(seconds=later_s), pending_s=pending_s)
    acked = [lat for acked, lat in receipts if acked]
    assert (first.result is PASSED) == bool(acked) == (later.result is PASSED)
    if first.result is FAILED:
        assert later.result is FAILED
    assert first.receipt_latency_s == later.receipt_latency_s == min(acked, default=None)
    assert first.first_receipt_at == (received + timedelta(seconds=min(acked)) if acked else None)


def test_shuffling_the_input_changes_nothing() -> None:
    rows = tuple((f"a{i}", f"2026-03-{1 + i % 28:02} {i % 24:02}:00", "ack" if i % 3 else "none")
                 for i in range(40))  # fmt: skip
    given_records = records(rows)
    shuffled = list(given_records)
    random.Random(7).shuffle(shuffled)
    one = judge_march(given_records, required=2)
    assert one == judge_march(shuffled, required=2)
    assert (len(one.tests), one.passed, one.compliant) == (40, 26, True)
