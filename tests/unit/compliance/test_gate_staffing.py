"""24-hour gate staffing: per gate and local day, judged by tables of reports."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from gateway.compliance.gate_staffing import (
    Disagreement,
    GateDay,
    PostState,
    StaffingReport,
    StaffingSource,
    current_state,
    judge_gate_day,
    local_day_window,
    report_span,
    unstaffed_for_s,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MQTT, MODBUS, API, CAMERA = (
    StaffingSource.MQTT,
    StaffingSource.MODBUS,
    StaffingSource.API,
    StaffingSource.CAMERA,
)


def at(text: str, tz: ZoneInfo = SHANGHAI) -> datetime:
    """'2026-03-10 12:00[:30]' in the site's zone, or '...Z' in UTC; returned in UTC."""
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)


Row = tuple[str, StaffingSource, str]  # (time, source, "on" | "off"), in arrival order


def reports(
    rows: tuple[Row, ...], tz: ZoneInfo = SHANGHAI, first_id: int = 1
) -> list[StaffingReport]:
    return [
        StaffingReport(at(when, tz), state == "on", source, record_id)
        for record_id, (when, source, state) in enumerate(rows, start=first_id)
    ]


@dataclass(frozen=True, kw_only=True)
class Case:
    rows: tuple[Row, ...]
    day: str = "2026-03-10"
    now: str = "2026-03-12 00:00"
    tz: str = "Asia/Shanghai"
    max_s: int = 600
    compliant: bool
    # judged unstaffed intervals (start, end, full_start, full_end), site time
    unstaffed: tuple[tuple[str, str, str, str], ...] = ()
    complete: bool = True


def judge(case: Case) -> GateDay:
    tz = ZoneInfo(case.tz)
    return judge_gate_day(
        reports(case.rows, tz),
        day=date.fromisoformat(case.day),
        tz=tz,
        now=at(case.now, tz),
        max_unstaffed_s=case.max_s,
    )


ON_BEFORE = ("2026-03-09 08:00", MQTT, "on")

CASES = {
    "fully-staffed": Case(rows=(ON_BEFORE,), compliant=True),
    "short-break": Case(
        rows=(ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:05", MQTT, "on")),
        compliant=True,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:05") * 2,),
    ),
    "break-of-exactly-max": Case(
        rows=(ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:10", MQTT, "on")),
        compliant=True,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:10") * 2,),
    ),
    "break-of-max-plus-1s": Case(
        rows=(ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:10:01", MQTT, "on")),
        compliant=False,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:10:01") * 2,),
    ),
    "staffed-state-carried-over-midnight": Case(
        rows=(("2026-03-01 08:00", API, "on"),), compliant=True
    ),
    "unstaffed-state-carried-over-midnight": Case(
        rows=(ON_BEFORE, ("2026-03-09 23:00", MQTT, "off"), ("2026-03-10 07:00", MQTT, "on")),
        compliant=False,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-10 07:00", "2026-03-09 23:00", "2026-03-10 07:00"),
        ),
    ),
    # Unknown counts as unstaffed from the window's start: nothing is known before it.
    "unknown-until-first-report": Case(
        rows=(("2026-03-10 07:00", MODBUS, "on"),),
        compliant=False,
        unstaffed=(("2026-03-10 00:00", "2026-03-10 07:00") * 2,),
    ),
    "unknown-for-5-minutes": Case(
        rows=(("2026-03-10 00:05", MODBUS, "on"),),
        compliant=True,
        unstaffed=(("2026-03-10 00:00", "2026-03-10 00:05") * 2,),
    ),
    "unknown-then-unstaffed-is-one-absence": Case(
        rows=(("2026-03-10 00:05", MODBUS, "off"), ("2026-03-10 00:08", MODBUS, "on")),
        compliant=True,
        unstaffed=(("2026-03-10 00:00", "2026-03-10 00:08") * 2,),
    ),
    # The absence that began with the first report ever is measured from that report.
    "first-report-ever-just-before-midnight": Case(
        rows=(("2026-03-09 23:59", MQTT, "off"), ("2026-03-10 00:05", MQTT, "on")),
        compliant=True,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-10 00:05", "2026-03-09 23:59", "2026-03-10 00:05"),
        ),
    ),
    "no-report-ever": Case(
        rows=(),
        compliant=False,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-11 00:00", "2026-03-10 00:00", "2026-03-11 00:10"),
        ),
    ),
    "16-min-absence-across-midnight-breaks-the-first-day": Case(
        rows=(ON_BEFORE, ("2026-03-10 23:52", MQTT, "off"), ("2026-03-11 00:08", MQTT, "on")),
        compliant=False,
        unstaffed=(
            ("2026-03-10 23:52", "2026-03-11 00:00", "2026-03-10 23:52", "2026-03-11 00:08"),
        ),
    ),
    "16-min-absence-across-midnight-breaks-the-second-day": Case(
        rows=(ON_BEFORE, ("2026-03-09 23:52", MQTT, "off"), ("2026-03-10 00:08", MQTT, "on")),
        compliant=False,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-10 00:08", "2026-03-09 23:52", "2026-03-10 00:08"),
        ),
    ),
    # The guard checks out at 23:52, the sensor notices at 23:53: measured from 23:52.
    "absence-across-midnight-reported-by-two-sources": Case(
        rows=(
            ON_BEFORE,
            ("2026-03-09 23:52", API, "off"),
            ("2026-03-09 23:53", MQTT, "off"),
            ("2026-03-10 00:01", MQTT, "on"),
        ),
        compliant=True,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-10 00:01", "2026-03-09 23:52", "2026-03-10 00:01"),
        ),
    ),
    "6-min-absence-across-midnight-is-within-max": Case(
        rows=(ON_BEFORE, ("2026-03-09 23:57", MQTT, "off"), ("2026-03-10 00:03", MQTT, "on")),
        compliant=True,
        unstaffed=(
            ("2026-03-10 00:00", "2026-03-10 00:03", "2026-03-09 23:57", "2026-03-10 00:03"),
        ),
    ),
    "month-end-jan-31": Case(
        day="2026-01-31",
        now="2026-02-02 00:00",
        rows=(
            ("2026-01-30 08:00", MQTT, "on"),
            ("2026-01-31 23:55", MQTT, "off"),
            ("2026-02-01 00:06", MQTT, "on"),
        ),
        compliant=False,
        unstaffed=(
            ("2026-01-31 23:55", "2026-02-01 00:00", "2026-01-31 23:55", "2026-02-01 00:06"),
        ),
    ),
    "month-start-feb-1": Case(
        day="2026-02-01",
        now="2026-02-02 00:00",
        rows=(
            ("2026-01-30 08:00", MQTT, "on"),
            ("2026-01-31 23:55", MQTT, "off"),
            ("2026-02-01 00:06", MQTT, "on"),
        ),
        compliant=False,
        unstaffed=(
            ("2026-02-01 00:00", "2026-02-01 00:06", "2026-01-31 23:55", "2026-02-01 00:06"),
        ),
    ),
    "year-end-dec-31": Case(
        day="2025-12-31",
        now="2026-01-02 00:00",
        rows=(
            ("2025-12-30 08:00", API, "on"),
            ("2025-12-31 23:59", API, "off"),
            ("2026-01-01 00:09", API, "on"),
        ),
        compliant=True,
        unstaffed=(
            ("2025-12-31 23:59", "2026-01-01 00:00", "2025-12-31 23:59", "2026-01-01 00:09"),
        ),
    ),
    "year-start-jan-1": Case(
        day="2026-01-01",
        now="2026-01-02 00:00",
        rows=(
            ("2025-12-30 08:00", API, "on"),
            ("2025-12-31 23:59", API, "off"),
            ("2026-01-01 00:09", API, "on"),
        ),
        compliant=True,
        unstaffed=(
            ("2026-01-01 00:00", "2026-01-01 00:09", "2025-12-31 23:59", "2026-01-01 00:09"),
        ),
    ),
    # 01:55 to 03:05 on the wall clock, but 02:00-03:00 does not exist that night.
    "berlin-spring-forward-break-is-10-minutes": Case(
        tz="Europe/Berlin",
        day="2026-03-29",
        now="2026-03-31 00:00",
        rows=(
            ("2026-03-28 08:00", MQTT, "on"),
            ("2026-03-29 01:55", MQTT, "off"),
            ("2026-03-29 03:05", MQTT, "on"),
        ),
        compliant=True,
        unstaffed=(("2026-03-29 01:55", "2026-03-29 03:05") * 2,),
    ),
    # 02:30 summer time to 02:30 winter time: the same wall clock, an hour apart.
    "berlin-fall-back-break-is-an-hour": Case(
        tz="Europe/Berlin",
        day="2026-10-25",
        now="2026-10-27 00:00",
        rows=(
            ("2026-10-24 08:00", MQTT, "on"),
            ("2026-10-25T00:30:00Z", MQTT, "off"),
            ("2026-10-25T01:30:00Z", MQTT, "on"),
        ),
        compliant=False,
        unstaffed=(("2026-10-25T00:30:00Z", "2026-10-25T01:30:00Z") * 2,),
    ),
    "today-ends-at-now-with-an-open-absence": Case(
        now="2026-03-10 12:30",
        rows=(ON_BEFORE, ("2026-03-10 12:00", MQTT, "off")),
        compliant=False,
        complete=False,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:30") * 2,),
    ),
    "today-open-absence-within-max-so-far": Case(
        now="2026-03-10 12:30",
        rows=(ON_BEFORE, ("2026-03-10 12:25", MQTT, "off")),
        compliant=True,
        complete=False,
        unstaffed=(("2026-03-10 12:25", "2026-03-10 12:30") * 2,),
    ),
    # Yesterday is complete, but an absence still open at 00:04 is measured up to now.
    "yesterday-absence-open-at-now-is-bounded-by-now": Case(
        now="2026-03-11 00:04",
        rows=(ON_BEFORE, ("2026-03-10 23:57", MQTT, "off")),
        compliant=True,
        unstaffed=(
            ("2026-03-10 23:57", "2026-03-11 00:00", "2026-03-10 23:57", "2026-03-11 00:04"),
        ),
    ),
    "a-report-past-now-is-not-believed-yet": Case(
        now="2026-03-10 12:30",
        rows=(ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:31", MQTT, "on")),
        compliant=False,
        complete=False,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:30") * 2,),
    ),
    # The latest report of a judged source decides: the phone's check-out overrides the
    # sensor until the sensor reports again.
    "modbus-says-staffed-api-says-off-the-latest-wins": Case(
        rows=(
            ("2026-03-09 08:00", MODBUS, "on"),
            ("2026-03-10 12:00", API, "off"),
            ("2026-03-10 12:30", MODBUS, "off"),
            ("2026-03-10 12:31", MODBUS, "on"),
        ),
        compliant=False,
        unstaffed=(("2026-03-10 12:00", "2026-03-10 12:31") * 2,),
    ),
    "camera-never-changes-the-judgement": Case(
        rows=(
            ON_BEFORE,
            ("2026-03-10 03:00", CAMERA, "off"),
            ("2026-03-10 09:00", CAMERA, "on"),
        ),
        compliant=True,
    ),
    "a-long-absence-still-open-at-the-horizon": Case(
        rows=(ON_BEFORE, ("2026-03-10 23:00", MQTT, "off"), ("2026-03-11 09:00", MQTT, "on")),
        compliant=False,
        unstaffed=(
            ("2026-03-10 23:00", "2026-03-11 00:00", "2026-03-10 23:00", "2026-03-11 00:10"),
        ),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_judgement(case: Case) -> None:
    tz = ZoneInfo(case.tz)
    result = judge(case)
    expected = tuple(tuple(at(t, tz) for t in row) for row in case.unstaffed)
    got = tuple((i.start, i.end, i.full_start, i.full_end) for i in result.unstaffed)
    assert got == expected
    assert result.compliant is case.compliant
    assert result.complete is case.complete
    assert result.longest_unstaffed_s == max(
        ((fe - fs).total_seconds() for _, _, fs, fe in expected), default=0.0
    )
    window_s = (result.window_end - result.window_start).total_seconds()
    assert result.unstaffed_s == sum((e - s).total_seconds() for s, e, _, _ in expected)
    assert result.staffed_s + result.unstaffed_s == pytest.approx(window_s)
    assert result.max_unstaffed_s == case.max_s


@pytest.mark.parametrize(
    "day, tz, start, end, hours",
    [
        ("2026-03-10", SHANGHAI, "2026-03-09T16:00:00Z", "2026-03-10T16:00:00Z", 24),
        ("2026-01-31", SHANGHAI, "2026-01-30T16:00:00Z", "2026-01-31T16:00:00Z", 24),
        ("2025-12-31", SHANGHAI, "2025-12-30T16:00:00Z", "2025-12-31T16:00:00Z", 24),
        ("2026-03-29", BERLIN, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z", 23),
        ("2026-10-25", BERLIN, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z", 25),
        ("2026-07-01", BERLIN, "2026-06-30T22:00:00Z", "2026-07-01T22:00:00Z", 24),
    ],
    ids=[
        "shanghai",
        "shanghai-month-end",
        "shanghai-year-end",
        "berlin-23h",
        "berlin-25h",
        "berlin-summer",
    ],
)
def test_local_day_window(day: str, tz: ZoneInfo, start: str, end: str, hours: int) -> None:
    window = local_day_window(date.fromisoformat(day), tz)
    assert window == (at(start), at(end))
    assert window[1] - window[0] == timedelta(hours=hours)
    assert all(t.tzinfo is UTC for t in window)


@pytest.mark.parametrize(
    "day, tz, hours",
    [("2026-03-29", BERLIN, 23), ("2026-10-25", BERLIN, 25)],
    ids=["berlin-23h", "berlin-25h"],
)
def test_dst_day_fully_staffed(day: str, tz: ZoneInfo, hours: int) -> None:
    result = judge_gate_day(
        reports((("2026-03-01 08:00", MQTT, "on"),), tz),
        day=date.fromisoformat(day),
        tz=tz,
        now=at("2026-12-01 00:00"),
        max_unstaffed_s=600,
    )
    assert result.staffed_s == hours * 3600
    assert result.unstaffed_s == 0
    assert result.compliant


def test_report_span_reaches_max_beyond_both_midnights() -> None:
    since, until = report_span(date(2026, 3, 10), SHANGHAI, max_unstaffed_s=600)
    assert (since, until) == (at("2026-03-09 23:50"), at("2026-03-11 00:10"))
    # a disagreement threshold longer than max widens it
    wide = report_span(date(2026, 3, 10), SHANGHAI, max_unstaffed_s=30, disagreement_min_s=60)
    assert wide == (at("2026-03-09 23:59"), at("2026-03-11 00:01"))


def _judge_rows(rows: list[StaffingReport], *, now: str = "2026-03-12 00:00") -> GateDay:
    return judge_gate_day(
        rows, day=date(2026, 3, 10), tz=SHANGHAI, now=at(now), max_unstaffed_s=600
    )


MIXED = (
    ON_BEFORE,
    ("2026-03-09 23:55", API, "off"),
    ("2026-03-10 00:20", MODBUS, "on"),
    ("2026-03-10 06:00", CAMERA, "on"),
    ("2026-03-10 12:00", MQTT, "off"),
    ("2026-03-10 12:00", API, "on"),
    ("2026-03-10 12:30", MQTT, "on"),
    ("2026-03-10 23:58", MODBUS, "off"),
)


@pytest.mark.parametrize("seed", range(20))
def test_same_answer_for_any_order_of_the_same_reports(seed: int) -> None:
    base = reports(MIXED)
    shuffled = list(base)
    random.Random(seed).shuffle(shuffled)
    assert _judge_rows(shuffled) == _judge_rows(base)


def test_a_tie_at_one_instant_goes_to_the_later_arrival() -> None:
    rows = (ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:00", API, "on"))
    assert _judge_rows(reports(rows)).unstaffed == ()
    swapped = (ON_BEFORE, ("2026-03-10 12:00", API, "on"), ("2026-03-10 12:00", MQTT, "off"))
    assert _judge_rows(reports(swapped)).unstaffed[0].start == at("2026-03-10 12:00")


def test_duplicates_change_nothing() -> None:
    rows = reports((ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:00", API, "on")))
    # the sensor's report sent again, arriving after the phone's: it must not win the tie
    copies = [replace(r, record_id=100 + i) for i, r in enumerate(rows)]
    assert _judge_rows(rows + copies) == _judge_rows(rows)
    assert _judge_rows(rows + copies).unstaffed == ()


def test_a_late_report_changes_the_answer() -> None:
    first = reports(
        (ON_BEFORE, ("2026-03-10 12:00", MQTT, "off"), ("2026-03-10 12:30", MQTT, "on"))
    )
    assert not _judge_rows(first).compliant
    # the guard's check-in at 12:04, uploaded when the phone came back online
    late = StaffingReport(at("2026-03-10 12:04"), True, API, record_id=99)
    result = _judge_rows([*first, late])
    assert result.compliant
    assert [(i.start, i.end) for i in result.unstaffed] == [
        (at("2026-03-10 12:00"), at("2026-03-10 12:04"))
    ]


def test_sources_and_disagreements_are_shown() -> None:
    result = _judge_rows(
        reports(
            (
                ("2026-03-09 08:00", MODBUS, "on"),
                ("2026-03-09 08:00:30", API, "on"),
                ("2026-03-10 12:00", API, "off"),
                ("2026-03-10 12:40", API, "on"),
                ("2026-03-10 03:00", CAMERA, "on"),
                ("2026-03-10 03:10", CAMERA, "off"),
                ("2026-03-10 03:30", CAMERA, "on"),
            )
        )
    )
    day_start, day_end = at("2026-03-10 00:00"), at("2026-03-11 00:00")
    sources = {s: [(i.start, i.end) for i in intervals] for s, intervals in result.sources}
    assert list(sources) == [API, CAMERA, MODBUS]  # only the sources seen, sorted
    assert sources[MODBUS] == [(day_start, day_end)]
    assert sources[API] == [(day_start, at("2026-03-10 12:00")), (at("2026-03-10 12:40"), day_end)]
    assert sources[CAMERA] == [
        (at("2026-03-10 03:00"), at("2026-03-10 03:10")),
        (at("2026-03-10 03:30"), day_end),
    ]
    # the per-source extent reaches back to the report that set it
    modbus_interval = dict(result.sources)[MODBUS][0]
    assert modbus_interval.full_start == at("2026-03-09 08:00")
    assert result.disagreements == (
        # camera unknown before 03:00: no disagreement; off 03:10-03:30 against both others
        Disagreement(
            at("2026-03-10 03:10"), at("2026-03-10 03:30"), ((API, True), (CAMERA, False))
        ),
        Disagreement(
            at("2026-03-10 03:10"), at("2026-03-10 03:30"), ((CAMERA, False), (MODBUS, True))
        ),
        Disagreement(
            at("2026-03-10 12:00"), at("2026-03-10 12:40"), ((API, False), (CAMERA, True))
        ),
        Disagreement(
            at("2026-03-10 12:00"), at("2026-03-10 12:40"), ((API, False), (MODBUS, True))
        ),
    )
    # the phone's check-out is the latest judged report: 40 minutes unstaffed
    assert [(i.start, i.end) for i in result.unstaffed] == [
        (at("2026-03-10 12:00"), at("2026-03-10 12:40"))
    ]
    assert not result.compliant


@pytest.mark.parametrize(
    "lag, min_s, shown",
    [
        ("00:45", 60.0, False),
        ("01:00", 60.0, True),
        ("01:30", 60.0, True),
        ("01:30", 120.0, False),
        ("00:01", 0.0, True),
    ],
    ids=[
        "45s-lag-ignored",
        "exactly-min-shown",
        "90s-shown",
        "90s-under-a-2-min-threshold",
        "zero-threshold",
    ],
)
def test_disagreement_shorter_than_min_is_ignored(lag: str, min_s: float, shown: bool) -> None:
    rows = reports(
        (
            ("2026-03-09 08:00", MQTT, "off"),
            ("2026-03-09 08:00", API, "off"),
            ("2026-03-10 08:00", MQTT, "on"),
            (f"2026-03-10 08:{lag}", API, "on"),
        )
    )
    result = judge_gate_day(
        rows,
        day=date(2026, 3, 10),
        tz=SHANGHAI,
        now=at("2026-03-12 00:00"),
        max_unstaffed_s=86400,
        disagreement_min_s=min_s,
    )
    expected = (
        Disagreement(
            at("2026-03-10 08:00"), at(f"2026-03-10 08:{lag}"), ((API, False), (MQTT, True))
        ),
    )
    assert result.disagreements == (expected if shown else ())


def test_a_disagreement_across_midnight_counts_its_full_length() -> None:
    rows = reports(
        (
            ON_BEFORE,
            ("2026-03-09 08:00", API, "on"),
            ("2026-03-09 23:59:30", API, "off"),
            ("2026-03-10 00:00:40", API, "on"),
        )
    )
    (shown,) = _judge_rows(rows).disagreements
    assert (shown.start, shown.end) == (at("2026-03-10 00:00"), at("2026-03-10 00:00:40"))


def test_camera_can_be_judged_when_the_site_says_so() -> None:
    rows = reports((ON_BEFORE, ("2026-03-10 12:00", CAMERA, "off")))
    result = judge_gate_day(
        rows,
        day=date(2026, 3, 10),
        tz=SHANGHAI,
        now=at("2026-03-12 00:00"),
        max_unstaffed_s=600,
        judged=frozenset({MQTT, CAMERA}),
    )
    assert not result.compliant


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"now": at("2026-03-09 23:59")}, "future"),
        ({"now": datetime(2026, 3, 12)}, "timezone-aware"),
        ({"day": datetime(2026, 3, 10, tzinfo=UTC)}, "must be a date"),
        ({"max_unstaffed_s": -1}, "negative"),
        ({"disagreement_min_s": -0.5}, "negative"),
        ({"judged": frozenset()}, "at least one source"),
        (
            {"reports": [StaffingReport(datetime(2026, 3, 10, 12), True, MQTT, 1)]},
            "occurred_at of report 1",
        ),
    ],
    ids=[
        "future-day",
        "naive-now",
        "datetime-as-day",
        "negative-max",
        "negative-min",
        "no-judged-source",
        "naive-report",
    ],
)
def test_bad_input_is_refused(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {
        "reports": [],
        "day": date(2026, 3, 10),
        "tz": SHANGHAI,
        "now": at("2026-03-12 00:00"),
        "max_unstaffed_s": 600,
    } | kwargs
    with pytest.raises(ValueError, match=message):
        judge_gate_day(**args)  # type: ignore[arg-type]


def test_the_first_instant_of_today_can_be_judged() -> None:
    result = _judge_rows(reports((ON_BEFORE,)), now="2026-03-10 00:00")
    assert (result.window_start, result.window_end, result.complete) == (
        at("2026-03-10 00:00"),
        at("2026-03-10 00:00"),
        False,
    )
    assert result.staffed_s == result.unstaffed_s == 0


def test_aware_non_utc_input_comes_out_in_utc() -> None:
    local = [
        StaffingReport(datetime(2026, 3, 9, 8, tzinfo=SHANGHAI), True, MQTT, 1),
        StaffingReport(datetime(2026, 3, 10, 12, tzinfo=SHANGHAI), False, MQTT, 2),
    ]
    result = judge_gate_day(
        local,
        day=date(2026, 3, 10),
        tz=SHANGHAI,
        now=datetime(2026, 3, 10, 12, 30, tzinfo=SHANGHAI),
        max_unstaffed_s=600,
    )
    (interval,) = result.unstaffed
    assert interval.start == at("2026-03-10 12:00") and interval.start.tzinfo is UTC
    assert result.window_end.tzinfo is UTC


# -- live state --------------------------------------------------------------------------

STATE_CASES: dict[str, tuple[tuple[Row, ...], bool | None, str | None, StaffingSource | None]] = {
    "no-report": ((), None, None, None),
    "camera-only-is-unknown": ((("2026-03-10 08:00", CAMERA, "on"),), None, None, None),
    "latest-wins": (
        (("2026-03-10 08:00", MQTT, "on"), ("2026-03-10 09:00", API, "off")),
        False,
        "2026-03-10 09:00",
        API,
    ),
    "a-repeated-state-does-not-move-since": (
        (
            ("2026-03-10 08:00", MQTT, "off"),
            ("2026-03-10 08:01", API, "off"),
            ("2026-03-10 08:05", MQTT, "off"),
        ),
        False,
        "2026-03-10 08:00",
        MQTT,
    ),
    "out-of-order-arrival": (
        (("2026-03-10 09:00", MQTT, "on"), ("2026-03-10 08:00", API, "off")),
        True,
        "2026-03-10 09:00",
        MQTT,
    ),
    "tie-goes-to-the-later-arrival": (
        (("2026-03-10 09:00", MQTT, "on"), ("2026-03-10 09:00", API, "off")),
        False,
        "2026-03-10 09:00",
        API,
    ),
}


@pytest.mark.parametrize(
    "rows, staffed, since, source", STATE_CASES.values(), ids=STATE_CASES.keys()
)
def test_current_state(
    rows: tuple[Row, ...], staffed: bool | None, since: str | None, source: StaffingSource | None
) -> None:
    expected = PostState(staffed, None if since is None else at(since), source)
    assert current_state(reports(rows)) == expected


GATEWAY_START = at("2026-03-10 07:00")

UNSTAFFED_FOR = {
    "staffed": (PostState(True, at("2026-03-10 08:00"), MQTT), "2026-03-10 09:00", 0.0),
    "empty-since-a-report": (
        PostState(False, at("2026-03-10 08:00"), API),
        "2026-03-10 08:10",
        600.0,
    ),
    "empty-since-before-the-gateway-started": (
        PostState(False, at("2026-03-10 06:00"), API),
        "2026-03-10 08:00",
        7200.0,
    ),
    "unknown-counts-from-the-gateway-start": (
        PostState(None, None, None),
        "2026-03-10 07:05",
        300.0,
    ),
    "report-from-a-clock-ahead": (
        PostState(False, at("2026-03-10 09:00"), MQTT),
        "2026-03-10 08:59",
        0.0,
    ),
}


@pytest.mark.parametrize("state, now, expected", UNSTAFFED_FOR.values(), ids=UNSTAFFED_FOR.keys())
def test_unstaffed_for_s(state: PostState, now: str, expected: float) -> None:
    assert unstaffed_for_s(state, now=at(now), known_since=GATEWAY_START) == expected


def test_a_half_known_post_state_is_refused() -> None:
    with pytest.raises(ValueError, match="all of staffed, since and source"):
        PostState(False, None, None)


def test_unstaffed_for_refuses_naive_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        unstaffed_for_s(
            PostState(None, None, None), now=datetime(2026, 3, 10), known_since=GATEWAY_START
        )
