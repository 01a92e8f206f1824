"""Benchmark D's month at a small scale (bench/city_month.py, bench/city_rows.py): the days
keep the shape the method describes, the live sample's messages are what the gateway's own
decoder accepts, the bulk-loaded rows carry what ingest would have stored, and every draw is
the same for its seed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from bench.city_feed import read_messages, write_messages
from bench.city_month import CityMonth, SchoolDay, simulated_month
from bench.city_rows import COLUMNS, Encoder, Ids, Rows
from gateway.compliance.patrols import ScanRecord, judge_patrol_day
from gateway.domain import DeviceEvent
from gateway.ingest.decode import SiteDirectory, decode_message
from gateway.patrol.tokens import verify_tag
from gateway.storage.models import Base
from tests.unit.bench.test_city_site import tree

MONTH = date(2026, 11, 1)
NOW = datetime(2026, 12, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def month() -> CityMonth:
    from gateway.settings import parse_settings

    return CityMonth(parse_settings(tree(5)), MONTH, seed=11)


def all_days(month: CityMonth) -> list[SchoolDay]:
    return [month.day(school, day) for day in month.days for school in month.settings.schools]


def test_the_month_simulated_is_the_one_before_the_runs() -> None:
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    assert simulated_month(datetime(2026, 12, 1, 2, tzinfo=UTC), shanghai) == date(2026, 11, 1)
    assert simulated_month(datetime(2026, 11, 30, 17, tzinfo=UTC), shanghai) == date(2026, 11, 1)
    assert simulated_month(datetime(2026, 1, 15, tzinfo=UTC), shanghai) == date(2025, 12, 1)


def test_a_day_is_drawn_the_same_alone_or_with_the_month(month: CityMonth) -> None:
    school = month.settings.schools[2]
    again = CityMonth(month.settings, MONTH, seed=11)
    assert again.day(school, MONTH + timedelta(days=9)) == month.day(
        school, MONTH + timedelta(days=9)
    )
    other = CityMonth(month.settings, MONTH, seed=12)
    assert other.day(school, MONTH) != month.day(school, MONTH)


def test_gates_are_staffed_but_for_short_breaks_and_the_lapses(month: CityMonth) -> None:
    limit = month.settings.rules.gate_max_unstaffed_s
    for school in month.settings.schools:
        for day in month.days:
            judged = month.day(school, day)
            start, end = month.at(day, 0), month.at(day, 24)
            lapses = {(lapse.subject_id, lapse.start) for lapse in judged.lapses}
            for gate in school.gates:
                reports = sorted(
                    (r for r in judged.gate_reports if r.gate_id == gate.id), key=lambda r: r.at
                )
                # off, on, off, on ...: each absence inside the day, none overlapping
                assert [r.staffed for r in reports] == [False, True] * (len(reports) // 2)
                assert all(start <= r.at < end for r in reports)
                for off, on in zip(reports[::2], reports[1::2], strict=True):
                    long = (on.at - off.at).total_seconds() > limit
                    assert long == ((gate.id, off.at) in lapses)


def test_key_checkpoints_are_patrolled_five_times_a_day_unless_a_round_is_missed(
    month: CityMonth,
) -> None:
    settings = month.settings
    missed_days = short_days = 0
    for school in settings.schools:
        for day in month.days:
            judged = month.day(school, day)
            missed = {lapse.subject_id for lapse in judged.lapses if lapse.subject_kind != "gate"}
            for checkpoint in school.key_checkpoints:
                scans = [s for s in judged.scans if s.checkpoint_id == checkpoint.id]
                times = sorted(s.at for s in scans)
                assert all(b - a >= timedelta(minutes=2) for a, b in pairwise(times))
                genuine = [s for s in scans if s.tag == month.tag(school.id, checkpoint.id)]
                for scan in genuine:  # a forged tag is refused; the others name the checkpoint
                    assert verify_tag(settings, scan.tag).checkpoint_id == checkpoint.id
                records = [ScanRecord(s.at, s.guard_id, "reader", n) for n, s in enumerate(genuine)]
                verdict = judge_patrol_day(
                    records, day=day, tz=month.zone, now=NOW, required=5, min_spacing_s=3600
                )
                if checkpoint.id not in missed and len(genuine) == len(scans):
                    assert verdict.compliant, (school.id, checkpoint.id, day)
                missed_days += checkpoint.id in missed
                short_days += not verdict.compliant
    assert short_days > 0 and missed_days > 0  # some of the city falls short


def test_every_live_message_is_one_the_gateway_takes(month: CityMonth, tmp_path: Path) -> None:
    encoder = Encoder(month, "bench-110")
    day = month.days[-1]
    messages = encoder.messages([month.day(s, day) for s in month.settings.schools])
    directory = SiteDirectory(month.settings)
    decoded = [decode_message(directory, t, p, NOW) for t, p in messages]
    assert all(isinstance(event, DeviceEvent) for event in decoded)
    kinds = Counter(str(event.kind) for event in decoded if isinstance(event, DeviceEvent))
    assert kinds["guard_on"] == kinds["guard_off"] > 0 and kinds["scan"] > 0
    times = [e.occurred_at for e in decoded if isinstance(e, DeviceEvent)]
    assert times == sorted(times)  # published in time order
    write_messages(tmp_path / "day.tsv", messages)
    assert read_messages(tmp_path / "day.tsv") == messages


def test_the_bulk_rows_are_what_ingest_would_have_stored(month: CityMonth) -> None:
    rows = Rows(month, "bench-110", Ids({"events": 41}), now=NOW)
    loaded: dict[str, list[tuple[object, ...]]] = {table: [] for table in COLUMNS}
    for day in all_days(month):
        for table, row in rows.day_rows(day):
            loaded[table].append(row)
    for table, row in rows.closing_rows():
        loaded[table].append(row)
    for table, columns in COLUMNS.items():
        assert set(columns) <= set(Base.metadata.tables[table].columns.keys()), table
        assert all(len(row) == len(columns) for row in loaded[table]), table
    events = {row[0]: row for row in loaded["events"]}
    assert min(events) == 42 and len(events) == len(loaded["events"])  # after those there
    directory = SiteDirectory(month.settings)
    for row in loaded["events"][:500]:
        event = decode_message(directory, row[10], row[11].encode(), row[8])
        assert isinstance(event, DeviceEvent)
        assert (event.device.school_id, str(event.kind), event.message_id) == (
            row[1],
            row[5],
            row[4],
        )
        assert event.occurred_at == row[7]
    scans = loaded["patrol_scans"]
    assert all(events[row[13]][5] == "scan" for row in scans)
    accepted = Counter(row[10] for row in scans)
    assert accepted[True] > 100 * accepted[False] > 0 or accepted[False] == 0
    alarms = {row[0]: row for row in loaded["alarms"]}
    tested = {(row[4], row[6]) for row in alarms.values() if row[3] == "test"}
    buttons = {(s.id, b.id) for s in month.settings.schools for b in s.alarm_buttons}
    untested = {(s, b) for s, t in month.traits.items() for b in t.untested}
    assert tested == buttons - untested
    assert {row[1] for row in loaded["police_deliveries"]} == set(alarms)
    assert all(row[8] is not None for row in loaded["police_deliveries"])  # acknowledged
    tickets = {row[0] for row in loaded["hazard_tickets"]}
    assert {row[1] for row in loaded["hazard_steps"]} <= tickets
    assert loaded["guard_trainings"] and loaded["alerts"]
