"""The stretch of time a report covers: a local calendar month, judged over its complete
local days only (a day still running would be judged on half its hours)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.compliance.alarm_tests import month_window, parse_month
from gateway.compliance.gate_staffing import local_day_window
from gateway.errors import GatewayError

__all__ = [
    "InvalidPeriod",
    "MonthPeriod",
    "latest_complete_day",
    "month_days",
    "month_period",
    "parse_report_month",
]

FIRST_YEAR, LAST_YEAR = 2000, 2100


class InvalidPeriod(GatewayError):
    """A month or quarter that cannot be reported: malformed, not begun, or without a
    complete local day yet."""


@dataclass(frozen=True, slots=True)
class MonthPeriod:
    month: str  # YYYY-MM
    first: date  # the month's first local day
    days: tuple[date, ...]  # the complete local days judged, in order (never empty)
    start: datetime  # UTC: the month's first local midnight
    end: datetime  # UTC: the end of the last judged day (the month's end once it is over)
    month_end: datetime  # UTC: the next month's first local midnight
    zone: ZoneInfo

    @property
    def complete(self) -> bool:
        return self.end == self.month_end

    @property
    def last_day(self) -> date:
        return self.days[-1]


def parse_report_month(text: str) -> date:
    """'YYYY-MM' -> its first day; InvalidPeriod with the reason otherwise."""
    try:
        first = parse_month(text)
    except ValueError as exc:
        raise InvalidPeriod(str(exc)) from exc
    # The gateway refuses device times outside these years: nothing can be on record.
    if not FIRST_YEAR <= first.year <= LAST_YEAR:
        raise InvalidPeriod(f"{text!r}: the year must be from {FIRST_YEAR} to {LAST_YEAR}")
    return first


def month_days(first: date) -> tuple[date, ...]:
    """Every day of the month that begins on `first`."""
    days = [first]
    while (following := days[-1] + timedelta(days=1)).month == first.month:
        days.append(following)
    return tuple(days)


def latest_complete_day(zone: ZoneInfo, now: datetime) -> date:
    """Yesterday in the site's zone: the last local day that is over at `now`."""
    return now.astimezone(zone).date() - timedelta(days=1)


def month_period(month: str, zone: ZoneInfo, *, now: datetime) -> MonthPeriod:
    """The month's complete local days at `now`. A month not begun, or begun today (no day
    of it is over yet), is refused with InvalidPeriod saying when it can be reported."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    first = parse_report_month(month)
    start, month_end = month_window(first, zone)
    if now < start:
        raise InvalidPeriod(
            f"{month} has not begun yet in {zone.key} (it begins "
            f"{start.astimezone(zone).isoformat()})"
        )
    yesterday = latest_complete_day(zone, now)
    days = tuple(day for day in month_days(first) if day <= yesterday)
    if not days:
        raise InvalidPeriod(
            f"{month} began today in {zone.key}: no day of it is over yet, so it can be "
            f"reported from {(first + timedelta(days=1)).isoformat()}"
        )
    _, end = local_day_window(days[-1], zone)
    return MonthPeriod(
        month=f"{first:%Y-%m}",
        first=first,
        days=days,
        start=start.astimezone(UTC),
        end=end,
        month_end=month_end,
        zone=zone,
    )
