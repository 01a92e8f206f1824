"""The "4个100%" indicators of a school at a month's end (definitions in docs/reports.md).
Pure: the month's judged facts come in."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from gateway.compliance.guards import GuardFlag, SchoolGuards
from gateway.reports.model import Indicator, Ratio
from gateway.settings import School

__all__ = [
    "IndicatorFacts",
    "alarm_networked",
    "closed_management",
    "full_time_guards",
    "judge_indicators",
    "video_networked",
]

# A guard whose age is unknown cannot be shown to be within the limit.
AGE_BREACHES = frozenset({GuardFlag.OVER_AGE, GuardFlag.NO_BIRTH_DATE})


def full_time_guards(guards: SchoolGuards) -> bool:
    """专职保安员配备: at least one guard, at least as many full-time guards as the day pupils
    call for (unknown pupils: cannot be checked, not met), and nobody over the age limit or
    of unknown age."""
    return (
        bool(guards.guards)
        and guards.enough is True
        and not any(AGE_BREACHES.intersection(g.flags) for g in guards.guards)
    )


def closed_management(gates: int, gate_days: Ratio) -> bool:
    """封闭化管理: at least one gate, and every gate-day judged in the month staffed around
    the clock."""
    return gates > 0 and gate_days.required > 0 and gate_days.done == gate_days.required


def alarm_networked(
    buttons: Collection[str], reached_police: Collection[str], primary_endpoints: int
) -> bool:
    """一键报警与公安联网: at least one button and one primary police endpoint, and every
    button had an alarm (test or emergency) a police endpoint acknowledged in the month."""
    return (
        bool(buttons)
        and primary_endpoints > 0
        and all(button in reached_police for button in buttons)
    )


def video_networked(
    cameras: Collection[str], attached: Collection[str], offline: Collection[str]
) -> bool:
    """视频监控与公安联网: at least one camera, each attached to a gate or a button (so that
    its picture reaches the police with an alarm or is evidence at the post), and none known
    offline at the month's end."""
    return (
        bool(cameras)
        and all(camera in attached for camera in cameras)
        and not any(camera in offline for camera in cameras)
    )


@dataclass(frozen=True, slots=True)
class IndicatorFacts:
    school: School
    guards: SchoolGuards
    gate_days: Ratio
    reached_police: frozenset[str]  # buttons with an acknowledged alarm in the month
    primary_endpoints: int
    offline_cameras: frozenset[str]  # known offline at the month's end


def judge_indicators(facts: IndicatorFacts) -> dict[Indicator, bool]:
    school = facts.school
    cameras = [c.id for c in school.cameras]
    attached = {b.camera for b in school.alarm_buttons} | {g.camera for g in school.gates}
    return {
        Indicator.FULL_TIME_GUARDS: full_time_guards(facts.guards),
        Indicator.CLOSED_MANAGEMENT: closed_management(len(school.gates), facts.gate_days),
        Indicator.ALARM_NETWORKED: alarm_networked(
            [b.id for b in school.alarm_buttons], facts.reached_police, facts.primary_endpoints
        ),
        Indicator.VIDEO_NETWORKED: video_networked(
            cameras, {c for c in attached if c is not None}, facts.offline_cameras
        ),
    }
