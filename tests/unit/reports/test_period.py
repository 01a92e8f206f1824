"""The stretch a monthly report covers: the month's complete local days at `now`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.reports.period import InvalidPeriod, month_days, month_period

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("month", "now", "first_day", "last_day", "days", "complete"),
    [
        # Over: every day, the edges at Shanghai's midnights (16:00 UTC the day before).
        ("2026-09", "2026-11-30T12:00", "2026-09-01", "2026-09-30", 30, True),
        ("2024-02", "2026-11-30T12:00", "2024-02-01", "2024-02-29", 29, True),
        # The current month: up to yesterday.
        ("2026-11", "2026-11-30T12:00", "2026-11-01", "2026-11-29", 29, False),
        # 23:59 on the 30th in Shanghai: the 30th is still running.
        ("2026-11", "2026-11-30T15:59", "2026-11-01", "2026-11-29", 29, False),
        # 00:00 on 1 December in Shanghai: November is over, though UTC is still in it.
        ("2026-11", "2026-11-30T16:00", "2026-11-01", "2026-11-30", 30, True),
        # The second day: one complete day.
        ("2026-12", "2026-12-01T16:00", "2026-12-01", "2026-12-01", 1, False),
    ],
)
def test_the_judged_days(
    month: str, now: str, first_day: str, last_day: str, days: int, complete: bool
) -> None:
    period = month_period(month, SHANGHAI, now=utc(now))
    assert period.days[0] == date.fromisoformat(first_day)
    assert period.last_day == date.fromisoformat(last_day)
    assert len(period.days) == days
    assert period.complete is complete
    first = date.fromisoformat(first_day)
    assert period.start == datetime(first.year, first.month, 1, tzinfo=SHANGHAI).astimezone(UTC)
    after = date.fromisoformat(last_day) + timedelta(days=1)
    assert period.end == datetime(after.year, after.month, after.day, tzinfo=SHANGHAI).astimezone(
        UTC
    )


@pytest.mark.parametrize(
    ("month", "now", "message"),
    [
        ("2026-12", "2026-11-30T12:00", "has not begun yet in Asia/Shanghai"),
        # 00:30 on 1 December in Shanghai: begun, but no day of it is over.
        ("2026-12", "2026-11-30T16:30", "no day of it is over yet"),
        ("2026-13", "2026-11-30T12:00", "the month must be 01 to 12"),
        ("2026-1", "2026-11-30T12:00", "expected YYYY-MM"),
        ("２０２６-11", "2026-11-30T12:00", "expected YYYY-MM"),
        ("1999-12", "2026-11-30T12:00", "the year must be from 2000 to 2100"),
    ],
)
def test_months_that_cannot_be_reported(month: str, now: str, message: str) -> None:
    with pytest.raises(InvalidPeriod, match=message):
        month_period(month, SHANGHAI, now=utc(now))


def test_the_end_is_the_midnight_after_the_last_judged_day() -> None:
    period = month_period("2026-11", SHANGHAI, now=utc("2026-11-20T03:00"))
    assert period.end == utc("2026-11-19T16:00")  # 20 Nov 00:00 in Shanghai
    assert period.month_end == utc("2026-11-30T16:00")


@pytest.mark.parametrize(
    ("first", "length"), [("2026-02-01", 28), ("2028-02-01", 29), ("2026-12-01", 31)]
)
def test_month_days(first: str, length: int) -> None:
    days = month_days(date.fromisoformat(first))
    assert len(days) == length
    assert days[0] == date.fromisoformat(first)
