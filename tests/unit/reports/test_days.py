"""A month of gate reports judged day by day on each day's share of the record gives the
same judgement as the whole record would: the share is all `judge_gate_day` needs."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.compliance.gate_staffing import (
    StaffingReport,
    StaffingSource,
    judge_gate_day,
    report_span,
)
from gateway.reports.days import ReportsBySource

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_S = 600
MONTH_START = datetime(2026, 9, 1, tzinfo=SHANGHAI).astimezone(UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def random_reports(seed: int) -> list[StaffingReport]:
    """A month of a post's reports from three sources, sparse and bursty, with repeats at one
    instant (a sensor and a copy), some silent stretches of days."""
    rng = random.Random(seed)
    reports = []
    moment = MONTH_START - timedelta(days=2)
    record_id = 0
    while moment < MONTH_START + timedelta(days=32):
        moment += timedelta(seconds=rng.choice([30, 300, 590, 610, 3600, 4 * 86400]))
        source = rng.choice(
            [StaffingSource.MQTT, StaffingSource.API, StaffingSource.MODBUS, StaffingSource.CAMERA]
        )
        for _ in range(rng.choice([1, 1, 1, 2])):
            record_id += 1
            reports.append(StaffingReport(moment, rng.random() < 0.7, source, record_id))
    rng.shuffle(reports)
    return reports


@pytest.mark.parametrize("seed", range(8))
def test_each_days_share_judges_as_the_whole_record(seed: int) -> None:
    reports = random_reports(seed)
    index = ReportsBySource(reports)
    for offset in range(30):
        day = date(2026, 9, 1) + timedelta(days=offset)
        span = report_span(day, SHANGHAI, max_unstaffed_s=MAX_S)
        share = index.within(*span)
        assert len(share) <= len(reports)
        whole = judge_gate_day(reports, day=day, tz=SHANGHAI, now=NOW, max_unstaffed_s=MAX_S)
        part = judge_gate_day(share, day=day, tz=SHANGHAI, now=NOW, max_unstaffed_s=MAX_S)
        assert part == whole, day


def test_the_share_reaches_back_to_each_sources_last_instant() -> None:
    early = datetime(2026, 8, 1, tzinfo=UTC)
    reports = [
        StaffingReport(early, True, StaffingSource.MQTT, 1),
        StaffingReport(early, False, StaffingSource.MQTT, 2),  # the same instant: both kept
        StaffingReport(early - timedelta(hours=1), True, StaffingSource.MQTT, 3),  # superseded
        StaffingReport(early + timedelta(days=3), True, StaffingSource.API, 4),
        StaffingReport(datetime(2026, 9, 10, 12, tzinfo=UTC), True, StaffingSource.API, 5),
        StaffingReport(datetime(2026, 9, 20, tzinfo=UTC), True, StaffingSource.API, 6),  # after
    ]
    since, until = report_span(date(2026, 9, 10), SHANGHAI, max_unstaffed_s=MAX_S)
    share = ReportsBySource(reports).within(since, until)
    assert sorted(r.record_id for r in share) == [1, 2, 4, 5]
