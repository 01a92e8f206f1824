"""The roster keys of the site configuration: guards' birth dates, day pupils, the minimum."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from gateway.errors import ConfigError
from gateway.settings import parse_settings
from gateway.staffing.roster import minimum_of


def tree(**school: Any) -> dict[str, Any]:
    return {"schools": [{"id": "dg", "name": "东关中学", **school}]}


def test_defaults_follow_the_campaign() -> None:
    settings = parse_settings(tree(guards=[{"id": "g", "name": "李", "birth_date": "1970-01-31"}]))
    guard = settings.schools[0].guards[0]
    assert (guard.birth_date, guard.full_time) == (date(1970, 1, 31), True)
    assert settings.rules.guard_max_age == 60
    minimum = minimum_of(settings)
    assert [(s.pupils_from, s.guards) for s in minimum.steps] == [(0, 1), (100, 2), (1000, 3)]
    assert minimum.per_further == 500


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        pytest.param(
            tree(
                guards=[
                    {"id": "g", "name": "李", "birth_date": str(date.today() + timedelta(days=1))}
                ]
            ),
            "schools[0].guards[0].birth_date: ",
            id="born-tomorrow",
        ),
        pytest.param(
            tree(guards=[{"id": "g", "name": "李", "birth_date": "1850-01-01"}]),
            "is not a birth date",
            id="born-1850",
        ),
        pytest.param(tree(day_pupils=-1), "schools[0].day_pupils", id="negative-pupils"),
        pytest.param(
            {**tree(), "rules": {"guard_minimum": {"steps": [{"pupils_from": 10, "guards": 1}]}}},
            "rules.guard_minimum.steps: the first step must start at pupils_from 0",
            id="first-step-not-0",
        ),
        pytest.param(
            {
                **tree(),
                "rules": {
                    "guard_minimum": {
                        "steps": [
                            {"pupils_from": 0, "guards": 3},
                            {"pupils_from": 100, "guards": 2},
                        ]
                    }
                },
            },
            "guards must not decrease",
            id="fewer-guards-for-more-pupils",
        ),
        pytest.param(
            {**tree(), "rules": {"guard_max_age": 12}}, "rules.guard_max_age", id="max-age"
        ),
    ],
)
def test_roster_keys_are_checked(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(changes)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
