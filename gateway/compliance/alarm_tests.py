"""Every one-touch alarm button tested at least once a month, jointly by police and the
education bureau, with the police receipt on record (一键报警装置每月至少测试1次): the
judgement of each test and of each button's local calendar month.

Pure: the test records, the calendar and `now` come in; nothing is read from a clock or a
store. A test passes when at least one police endpoint acknowledged it; a test with no
receipt is still being delivered for `pending_s` after the gateway received it, and failed
after that. A test counts in the local month of its press (device time).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from gateway.compliance.gate_staffing import local_day_window

__all__ = [
    "ButtonMonth",
    "JudgedTest",
    "Receipt",
    "TestRecord",
    "TestResult",
    "judge_button_month",
    "judge_test",
    "month_window",
    "parse_month",
]

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # [0-9], not \d: no full-width digits


class TestResult(StrEnum):
    __test__ = False  # a name pytest would otherwise try to collect

    PASSED = "passed"  # at least one police endpoint acknowledged it (a receipt)
    PENDING = "pending"  # no receipt yet, but younger than `pending_s`: still being delivered
    FAILED = "failed"  # no receipt, and older than `pending_s`


@dataclass(frozen=True, slots=True)
class Receipt:
    """One police endpoint's answer to a test."""

    endpoint_id: str
    acknowledged_at: datetime | None  # aware; None: not acknowledged (yet)
    latency_s: float | None  # from sending to the acknowledgement

    def __post_init__(self) -> None:
        if self.acknowledged_at is not None:
            _check_aware(self.acknowledged_at, f"acknowledged_at of receipt {self.endpoint_id}")
        if self.latency_s is not None and not (
            math.isfinite(self.latency_s) and self.latency_s >= 0
        ):
            raise ValueError(
                f"latency_s of receipt {self.endpoint_id} must be a non-negative number, "
                f"got {self.latency_s!r}"
            )


@dataclass(frozen=True, slots=True)
class TestRecord:
    """One test press of one alarm button, with the police endpoints' receipts."""

    __test__ = False  # a name pytest would otherwise try to collect

    alarm_id: str
    occurred_at: datetime  # aware: the press time (device time): the month it counts in
    received_at: datetime  # aware: when the gateway received it (pending_s runs from here)
    receipts: tuple[Receipt, ...]

    def __post_init__(self) -> None:
        _check_aware(self.occurred_at, f"occurred_at of test {self.alarm_id}")
        _check_aware(self.received_at, f"received_at of test {self.alarm_id}")


@dataclass(frozen=True, slots=True)
class JudgedTest:
    record: TestRecord
    result: TestResult
    first_receipt_at: datetime | None  # earliest acknowledged_at, UTC
    receipt_latency_s: float | None  # smallest latency_s of the acknowledged receipts


@dataclass(frozen=True, slots=True)
class ButtonMonth:
    month: date  # the first day of the local month
    window_start: datetime  # UTC start of the local month
    window_end: datetime  # UTC: min(start of next local month, now), never before window_start
    complete: bool  # now >= start of next month
    required: int
    tests: tuple[JudgedTest, ...]  # the month's tests up to now, in time order (tie: alarm_id)
    passed: int
    compliant: bool  # passed >= required
    days_left: int  # local days left counting today; 0 once complete; the length if not begun
    due_soon: bool  # begun, not complete, not compliant, days_left <= remind_days
    overdue: bool  # complete and not compliant


def month_window(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar month containing `month` (any day of it);
    the edges are the local midnights `local_day_window` gives (so 743 or 745 hours in a
    month where the clocks change)."""
    if isinstance(month, datetime):
        raise ValueError(f"month must be a date, not the datetime {month.isoformat()}")
    first = month.replace(day=1)
    start, _ = local_day_window(first, tz)
    end, _ = local_day_window(_next_month(first), tz)
    return start, end


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the first day of that month."""
    match = _MONTH.fullmatch(text)
    if match is None:
        raise ValueError(f"{text!r} is not a month: expected YYYY-MM, for example 2026-03")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r} is not a month: the month must be 01 to 12")
    if year < 1:
        raise ValueError(f"{text!r} is not a month: the year must be 0001 or later")
    return date(year, month, 1)


def judge_test(record: TestRecord, *, now: datetime, pending_s: float) -> JudgedTest:
    """PASSED if any endpoint acknowledged the test (however late); otherwise PENDING while
    less than `pending_s` has passed since the gateway received it, then FAILED."""
    _check_aware(now, "now")
    _check_pending(pending_s)
    times = [r.acknowledged_at for r in record.receipts if r.acknowledged_at is not None]
    latencies = [
        r.latency_s
        for r in record.receipts
        if r.acknowledged_at is not None and r.latency_s is not None
    ]
    first_at = min(times, default=None)
    if times:
        result = TestResult.PASSED
    elif now - record.received_at < timedelta(seconds=pending_s):
        result = TestResult.PENDING
    else:
        result = TestResult.FAILED
    return JudgedTest(
        record=record,
        result=result,
        first_receipt_at=None if first_at is None else first_at.astimezone(UTC),
        receipt_latency_s=min(latencies, default=None),
    )


def judge_button_month(
    records: Sequence[TestRecord],
    *,
    month: date,
    tz: ZoneInfo,
    now: datetime,
    required: int,
    pending_s: float,
    remind_days: int,
) -> ButtonMonth:
    """One button's local month: its tests (others are ignored), whether at least
    `required` passed, and how close the month's end is."""
    _check_aware(now, "now")
    _check_pending(pending_s)
    if required < 1:
        raise ValueError(f"required must be at least 1, got {required}")
    if remind_days < 0:
        raise ValueError(f"remind_days must not be negative, got {remind_days}")
    start, end = month_window(month, tz)
    now = now.astimezone(UTC)
    # A press past `now` (a clock running ahead) is not believed until its time comes.
    of_month = [r for r in _deduplicated(records) if start <= r.occurred_at < end]
    believed = sorted(
        (r for r in of_month if r.occurred_at <= now), key=lambda r: (r.occurred_at, r.alarm_id)
    )
    tests = tuple(judge_test(r, now=now, pending_s=pending_s) for r in believed)
    passed = sum(t.result is TestResult.PASSED for t in tests)
    first = month.replace(day=1)
    complete = now >= end
    begun = now >= start
    if complete:
        days_left = 0
    elif begun:
        days_left = (_next_month(first) - now.astimezone(tz).date()).days
    else:
        days_left = (_next_month(first) - first).days
    compliant = passed >= required
    return ButtonMonth(
        month=first,
        window_start=start,
        window_end=max(start, min(end, now)),
        complete=complete,
        required=required,
        tests=tests,
        passed=passed,
        compliant=compliant,
        days_left=days_left,
        # nothing can be done for a month not begun: a test now counts in the month before
        due_soon=begun and not complete and not compliant and days_left <= remind_days,
        overdue=complete and not compliant,
    )


def _next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _check_pending(pending_s: float) -> None:
    if not pending_s >= 0:  # NaN is refused too
        raise ValueError(f"pending_s must not be negative, got {pending_s!r}")


def _deduplicated(records: Sequence[TestRecord]) -> list[TestRecord]:
    """One record per alarm_id. Copies of one test (read twice, or before and after a
    receipt came in) are one test with every receipt any copy holds; copies that disagree
    on when the test happened are not one test, and are refused."""
    by_id: dict[str, TestRecord] = {}
    for record in records:
        seen = by_id.get(record.alarm_id)
        if seen is None or seen == record:
            by_id.setdefault(record.alarm_id, record)
            continue
        if (seen.occurred_at, seen.received_at) != (record.occurred_at, record.received_at):
            raise ValueError(
                f"two records of test {record.alarm_id} disagree on its times: occurred "
                f"{seen.occurred_at.isoformat()} / {record.occurred_at.isoformat()}, received "
                f"{seen.received_at.isoformat()} / {record.received_at.isoformat()}"
            )
        extra = tuple(r for r in record.receipts if r not in seen.receipts)
        by_id[record.alarm_id] = replace(seen, receipts=seen.receipts + extra)
    return list(by_id.values())
