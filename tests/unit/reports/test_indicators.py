"""The "4个100%" indicators of a school at a month's end, by tables."""

from __future__ import annotations

from datetime import date

import pytest

from gateway.compliance.guards import GuardRecord, judge_school_guards
from gateway.reports.indicators import (
    IndicatorFacts,
    alarm_networked,
    closed_management,
    full_time_guards,
    judge_indicators,
    video_networked,
)
from gateway.reports.model import Indicator, Ratio
from gateway.settings import School

DAY = date(2026, 9, 30)
TRAINED = (date(2026, 9, 1),)


def guard(
    guard_id: str, born: date | None = date(1980, 1, 1), *, full_time: bool = True
) -> GuardRecord:
    return GuardRecord(guard_id, guard_id, born, full_time, TRAINED)


@pytest.mark.parametrize(
    ("roster", "pupils", "met"),
    [
        ((guard("a"),), 80, True),  # 1 guard under 100 pupils
        ((), 80, False),  # nobody at all
        ((guard("a"),), 500, False),  # 2 needed from 100 pupils
        ((guard("a"), guard("b")), 500, True),
        ((guard("a"), guard("b", full_time=False)), 500, False),  # a part-timer does not count
        ((guard("a"), guard("b"), guard("c", full_time=False)), 500, True),  # extra help
        ((guard("a"), guard("b", date(1965, 9, 30))), 500, False),  # 61 on the day
        ((guard("a"), guard("b", date(1966, 9, 30))), 500, True),  # 60 on the day: fine
        ((guard("a"), guard("b", None)), 500, False),  # age unknown: cannot be shown
        ((guard("a"),), None, False),  # pupils unknown: the minimum cannot be checked
    ],
)
def test_full_time_guards(roster: tuple[GuardRecord, ...], pupils: int | None, met: bool) -> None:
    judged = judge_school_guards(roster, today=DAY, pupils=pupils)
    assert full_time_guards(judged) is met


@pytest.mark.parametrize(
    ("gates", "gate_days", "met"),
    [
        (1, Ratio(30, 30), True),
        (2, Ratio(59, 60), False),  # one gate-day with a long absence
        (0, Ratio(0, 0), False),  # no gate: nothing closes the campus
        (1, Ratio(0, 0), False),
    ],
)
def test_closed_management(gates: int, gate_days: Ratio, met: bool) -> None:
    assert closed_management(gates, gate_days) is met


@pytest.mark.parametrize(
    ("buttons", "reached", "primaries", "met"),
    [
        (("b1", "b2"), {"b1", "b2"}, 1, True),
        (("b1", "b2"), {"b1"}, 1, False),  # b2 never reached the police this month
        (("b1",), {"b1", "gone"}, 2, True),  # a removed button's alarm changes nothing
        (("b1",), {"b1"}, 0, False),  # no primary police endpoint configured
        ((), set(), 1, False),  # no button at all
    ],
)
def test_alarm_networked(
    buttons: tuple[str, ...], reached: set[str], primaries: int, met: bool
) -> None:
    assert alarm_networked(buttons, reached, primaries) is met


@pytest.mark.parametrize(
    ("cameras", "attached", "offline", "met"),
    [
        (("c1", "c2"), {"c1", "c2"}, set(), True),
        (("c1", "c2"), {"c1"}, set(), False),  # c2 watches nothing the police would see
        (("c1",), {"c1"}, {"c1"}, False),  # offline at the month's end
        (("c1",), {"c1"}, {"other"}, True),
        ((), set(), set(), False),  # no camera at all
    ],
)
def test_video_networked(
    cameras: tuple[str, ...], attached: set[str], offline: set[str], met: bool
) -> None:
    assert video_networked(cameras, attached, offline) is met


def test_the_four_from_a_schools_configuration() -> None:
    school = School.model_validate(
        {
            "id": "s1",
            "name": "东关中学",
            "day_pupils": 80,
            "alarm_buttons": [
                {"id": "b1", "location": "门卫室", "zone": 1, "camera": "cam-door"},
                {"id": "b2", "location": "办公室", "zone": 2},
            ],
            "gates": [{"id": "g1", "name": "北门", "camera": "cam-gate"}],
            "cameras": [
                {"id": "cam-door", "url": "rtsp://x/1"},
                {"id": "cam-gate", "url": "rtsp://x/2"},
            ],
        }
    )
    facts = IndicatorFacts(
        school=school,
        guards=judge_school_guards((guard("a"),), today=DAY, pupils=80),
        gate_days=Ratio(30, 30),
        reached_police=frozenset({"b1"}),
        primary_endpoints=1,
        offline_cameras=frozenset(),
    )
    assert judge_indicators(facts) == {
        Indicator.FULL_TIME_GUARDS: True,
        Indicator.CLOSED_MANAGEMENT: True,
        Indicator.ALARM_NETWORKED: False,  # b2
        Indicator.VIDEO_NETWORKED: True,  # one camera at a button, one at the gate
    }
