"""Which steps an alarm may take: forward only, steps may be skipped, closed is final."""

from __future__ import annotations

import pytest

from gateway.domain import AlarmStage
from gateway.storage.alarm_actions import StageRefused, check_stage

S = AlarmStage


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.NEW, S.ACKNOWLEDGED),
        (S.NEW, S.CLOSED),
        (S.ACKNOWLEDGED, S.DISPATCHED),
        (S.ACKNOWLEDGED, S.ON_SCENE),
        (S.DISPATCHED, S.ON_SCENE),
        (S.ON_SCENE, S.CLOSED),
    ],
)
def test_forward_steps_are_allowed(current: AlarmStage, target: AlarmStage) -> None:
    check_stage(current, target)


@pytest.mark.parametrize(
    ("current", "target", "reason"),
    [
        (S.NEW, S.NEW, "new again"),
        (S.ACKNOWLEDGED, S.ACKNOWLEDGED, "already acknowledged"),
        (S.ON_SCENE, S.DISPATCHED, "only moves forward"),
        (S.CLOSED, S.CLOSED, "closed"),
        (S.CLOSED, S.ACKNOWLEDGED, "closed"),
        (S.DISPATCHED, S.NEW, "new again"),
    ],
)
def test_other_steps_are_refused(current: AlarmStage, target: AlarmStage, reason: str) -> None:
    with pytest.raises(StageRefused, match=reason):
        check_stage(current, target)
