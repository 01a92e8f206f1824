"""`visible_schools`: which schools each kind of account sees (docs/decisions.md, "Who sees
which school"), and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import HTTPException

from gateway.api.deps import account_scope, may_see, visible_schools
from gateway.auth.tokens import Principal
from gateway.domain import Role
from gateway.settings import parse_settings

SITE = parse_settings(
    {
        "schools": [
            {"id": "a-east", "name": "甲", "police_station": "A", "district": "east"},
            {"id": "a-west", "name": "乙", "police_station": "A", "district": "west"},
            {"id": "b-east", "name": "丙", "police_station": "B", "district": "east"},
            {"id": "loose", "name": "丁"},  # no station, no district
        ]
    }
)
EVERY = None


def who(
    role: Role,
    *,
    school: str | None = None,
    station: str | None = None,
    district: str | None = None,
) -> Principal:
    return Principal(
        username="u",
        role=role,
        school_id=school,
        expires_at=datetime(2030, 1, 1, tzinfo=UTC),
        station=station,
        district=district,
    )


@pytest.mark.parametrize(
    ("principal", "sees"),
    [
        (who(Role.ADMIN), EVERY),
        (who(Role.POLICE), EVERY),  # city level
        (who(Role.INSPECTOR), EVERY),
        (who(Role.GUARD), []),  # a guard tied to no school sees none
        (who(Role.GUARD, school="a-west"), ["a-west"]),
        (who(Role.POLICE, station="A"), ["a-east", "a-west"]),
        (who(Role.POLICE, station="B"), ["b-east"]),
        (who(Role.INSPECTOR, district="east"), ["a-east", "b-east"]),
        (who(Role.INSPECTOR, district="west"), ["a-west"]),
        (who(Role.POLICE, station="gone"), []),  # a station no school names any more
        (who(Role.POLICE, school="loose"), ["loose"]),
        (who(Role.POLICE, station="A", district="east"), ["a-east"]),  # every scope narrows
        (who(Role.ADMIN, school="a-east"), EVERY),
    ],
    ids=repr,
)
def test_each_account_sees_its_schools(principal: Principal, sees: list[str] | None) -> None:
    assert account_scope(principal, SITE) == sees
    assert visible_schools(principal, SITE, None) == sees
    for school in SITE.schools:
        assert may_see(principal, SITE, school.id) == (sees is None or school.id in sees)


@pytest.mark.parametrize(
    ("principal", "requested", "message"),
    [
        (who(Role.POLICE, station="A"), "b-east", "police of police station 'A' may not see"),
        (who(Role.INSPECTOR, district="west"), "a-east", "inspector of district 'west' may not"),
        (who(Role.GUARD, school="a-west"), "a-east", "guard of school 'a-west' may not see"),
        (who(Role.GUARD), "a-east", "guard tied to no school may not see"),
    ],
)
def test_asking_for_a_school_outside_the_scope_is_403(
    principal: Principal, requested: str, message: str
) -> None:
    with pytest.raises(HTTPException) as raised:
        visible_schools(principal, SITE, requested)
    assert raised.value.status_code == 403
    assert message in str(raised.value.detail)


def test_a_school_inside_the_scope_is_given_alone() -> None:
    assert visible_schools(who(Role.POLICE, station="A"), SITE, "a-west") == ["a-west"]
    assert visible_schools(who(Role.ADMIN), SITE, "loose") == ["loose"]


def test_an_unknown_school_is_a_422_before_the_scope() -> None:
    with pytest.raises(HTTPException) as raised:
        visible_schools(who(Role.POLICE, station="A"), SITE, "nowhere")
    assert raised.value.status_code == 422
