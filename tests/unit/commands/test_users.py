"""`campus-gateway user add`'s checks of an account's scope: one of school, station and
district, a station for the police and a district for inspectors, each named by a school."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from gateway.cli import app
from gateway.commands.users import AccountScope, InvalidAccount, account_scope
from gateway.domain import Role
from gateway.settings import parse_settings

SITE = parse_settings(
    {
        "schools": [
            {"id": "a-east", "name": "甲", "police_station": "城关派出所", "district": "东区"},
            {"id": "b-west", "name": "乙", "police_station": "西关派出所", "district": "西区"},
        ]
    }
)
PASSWORD = "long-enough-password"


def check(role: Role, **scope: str | None) -> AccountScope:
    return account_scope(
        SITE,
        role=role,
        username="someone",
        password=PASSWORD,
        school_id=scope.pop("school", None),
        **scope,
    )


@pytest.mark.parametrize(
    ("role", "given", "scope"),
    [
        (Role.POLICE, {"station": "城关派出所"}, AccountScope(station="城关派出所")),
        (Role.INSPECTOR, {"district": "西区"}, AccountScope(district="西区")),
        (Role.POLICE, {}, AccountScope()),  # city level
        (Role.INSPECTOR, {}, AccountScope()),
        (Role.GUARD, {"school": "b-west"}, AccountScope(school_id="b-west")),
        (Role.POLICE, {"school": "a-east"}, AccountScope(school_id="a-east")),
        (Role.ADMIN, {}, AccountScope()),
    ],
)
def test_accepted(role: Role, given: dict[str, str], scope: AccountScope) -> None:
    assert check(role, **given) == scope


@pytest.mark.parametrize(
    ("role", "given", "problem"),
    [
        (
            Role.POLICE,
            {"station": "南关派出所"},
            "station '南关派出所' is named by no configured school (known: 城关派出所, 西关派出所)",
        ),
        (
            Role.INSPECTOR,
            {"district": "北区"},
            "district '北区' is named by no configured school (known: 东区, 西区)",
        ),
        (Role.INSPECTOR, {"station": "城关派出所"}, "--station is for police accounts"),
        (Role.GUARD, {"school": "a-east", "station": "城关派出所"}, "--station is for police"),
        (Role.POLICE, {"district": "东区"}, "--district is for inspector accounts"),
        (Role.ADMIN, {"district": "东区"}, "an admin sees every school"),
        (
            Role.POLICE,
            {"school": "a-east", "station": "城关派出所"},
            "give at most one of --school, --station, --district (got --school, --station)",
        ),
        (
            Role.INSPECTOR,
            {"station": "城关派出所", "district": "东区"},
            "give at most one of --school, --station, --district",
        ),
        (Role.GUARD, {}, "a guard belongs to one school"),
    ],
)
def test_refused_with_a_clear_problem(role: Role, given: dict[str, str], problem: str) -> None:
    with pytest.raises(InvalidAccount) as raised:
        check(role, **given)
    assert any(problem in line for line in raised.value.problems), raised.value.problems


def test_a_site_naming_no_station_says_so() -> None:
    bare = parse_settings({"schools": [{"id": "s", "name": "甲"}]})
    with pytest.raises(InvalidAccount, match=r"known: none: set schools\[\]\.police_station"):
        account_scope(
            bare,
            role=Role.POLICE,
            username="someone",
            password=PASSWORD,
            school_id=None,
            station="城关派出所",
        )


def test_the_command_line_refuses_before_touching_the_database(tmp_path: Path) -> None:
    config = tmp_path / "site.yaml"
    database = tmp_path / "never.db"
    tree = {
        "gateway": {"database_url": f"sqlite+aiosqlite:///{database}"},
        "schools": [{"id": "a-east", "name": "甲", "police_station": "城关派出所"}],
    }
    config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    args = ["user", "add", "--config", str(config), "--username", "zhang"]
    result = CliRunner().invoke(
        app, [*args, "--password", PASSWORD, "--role", "inspector", "--station", "西关派出所"]
    )
    assert result.exit_code == 2
    assert "--station is for police accounts (this one is inspector)" in result.output
    assert "station '西关派出所' is named by no configured school (known: 城关派出所)" in (
        result.output
    )
    assert not database.exists()
