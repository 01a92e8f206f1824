"""Accounts can be revoked (issue 17): a reset password, a new role or scope, disabling or
removing an account ends its bearer tokens and web sessions at once, even when the account
is changed back or made again under the same name; `user list` shows the accounts without
their secrets. On SQLite and PostgreSQL, through the real app and the real commands."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from asgi_lifespan import LifespanManager
from click.testing import Result
from sqlalchemy import select
from typer.testing import CliRunner

from gateway.app import create_app
from gateway.auth.login_limit import LoginLimiter
from gateway.cli import app as cli
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.models import UserAction, WebSession
from gateway.storage.users import UserRepository
from tests.integration.test_web_sessions import sign_in
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.audit import assert_site_log_intact
from tests.support.site import site_tree

PASSWORD = "first-password-1"
NEW_PASSWORD = "second-password-2"
EAST, WEST = "fy-dongguan-ms", "fy-shiyan-kg"
STATIONS = {EAST: "城关派出所", WEST: "西关派出所"}
DISTRICTS = {EAST: "城关区", WEST: "西河区"}


def site(database: tuple[str, str | None]) -> dict[str, Any]:
    url, schema = database
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1",
        database_url=url,
        database_schema=schema,
        police_urls={"110": "http://127.0.0.1:9/alarm"},
    )
    for school in tree["schools"]:
        school["police_station"] = STATIONS[school["id"]]
        school["district"] = DISTRICTS[school["id"]]
    return tree


@asynccontextmanager
async def gateway(database: tuple[str, str | None]) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's app (no runtime) on a fresh database; accounts come from the commands."""
    settings = parse_settings(site(database))
    app = create_app(settings, run_runtime=False)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        transport = StreamingASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            http.app = app  # type: ignore[attr-defined]
            yield http
    await assert_site_log_intact(settings.gateway.database_url, settings.gateway.database_schema)


def settings_of(http: httpx.AsyncClient) -> Settings:
    settings: Settings = http.app.state.context.settings  # type: ignore[attr-defined]
    return settings


async def make(
    http: httpx.AsyncClient,
    username: str,
    role: Role,
    password: str = PASSWORD,
    **scope: str | None,
) -> None:
    """`campus-gateway user add`, as the command does it."""
    await add_user(
        settings_of(http),
        role=role,
        username=username,
        password=password,
        school_id=scope.pop("school", None),
        **scope,
    )


async def token_for(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    http.app.state.login_limiter = LoginLimiter()  # type: ignore[attr-defined]
    return await http.post("/api/v1/auth/token", data={"username": username, "password": password})


async def bearer(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    response = await token_for(http, username, password)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def me(http: httpx.AsyncClient, headers: dict[str, str] | None = None) -> httpx.Response:
    """Who the gateway takes the caller for: by `headers`' token, else by the cookie."""
    return await http.get("/api/v1/auth/me", headers=headers)


async def signed_in_both_ways(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """A web session (the client's cookie) and a bearer token (returned), both working."""
    http.cookies.clear()
    signed = await sign_in(http, username, password=password)
    assert signed.status_code == 303, signed.text
    headers = await bearer(http, username, password)
    assert (await me(http, headers)).json()["username"] == username
    assert (await me(http)).json()["username"] == username
    return headers


async def invoke(http: httpx.AsyncClient, tmp_path: Path, *args: str) -> Result:
    """A `campus-gateway` command on this gateway's site (in a thread: it runs its own loop)."""
    config = tmp_path / "site.yaml"
    if not config.exists():
        tree = site(_database_of(http))
        config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    command = [*args[:2], "--config", str(config), *args[2:]]
    return await asyncio.to_thread(CliRunner().invoke, cli, command)


def _database_of(http: httpx.AsyncClient) -> tuple[str, str | None]:
    settings = settings_of(http)
    return settings.gateway.database_url, settings.gateway.database_schema


async def test_a_reset_password_ends_the_old_token_and_session(
    database: tuple[str, str | None],
) -> None:
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE)
        old = await signed_in_both_ways(http, "officer")
        await make(http, "officer", Role.POLICE, password=NEW_PASSWORD)  # same role, same scope
        assert (await me(http, old)).status_code == 401
        assert (await me(http)).status_code == 401
        assert (await token_for(http, "officer")).status_code == 401
        new = await bearer(http, "officer", NEW_PASSWORD)
        assert (await me(http, new)).status_code == 200
        assert (await me(http, old)).status_code == 401


async def test_a_session_ends_with_its_account_however_the_account_was_changed(
    database: tuple[str, str | None],
) -> None:
    """Not only `user add` and the commands, which also mark the sessions ended: any change
    through the accounts' repository gives a new epoch, and the session of the old one ends."""
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE)
        await signed_in_both_ways(http, "officer")
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            user = await UserRepository(session).get_by_username("officer")
            await UserRepository(session).add_or_update(
                "officer", user.password_hash, Role.POLICE, None
            )
            await session.commit()
        assert (await me(http)).status_code == 401


# Each account is changed to another role or scope, then back to what it was: the token of
# before must stay ended even though the account then looks as it did when it was issued.
CHANGES = {
    "role": (Role.POLICE, {}, Role.INSPECTOR, {}),
    "school": (Role.GUARD, {"school": EAST}, Role.GUARD, {"school": WEST}),
    "station": (
        Role.POLICE,
        {"station": STATIONS[EAST]},
        Role.POLICE,
        {"station": STATIONS[WEST]},
    ),
    "district": (
        Role.INSPECTOR,
        {"district": DISTRICTS[EAST]},
        Role.INSPECTOR,
        {"district": DISTRICTS[WEST]},
    ),
}


@pytest.mark.parametrize("what", CHANGES)
async def test_a_role_or_scope_change_ends_tokens_even_when_changed_back(
    database: tuple[str, str | None], what: str
) -> None:
    role, scope, other_role, other_scope = CHANGES[what]
    async with gateway(database) as http:
        await make(http, "someone", role, **scope)
        first = await signed_in_both_ways(http, "someone")
        await make(http, "someone", other_role, **other_scope)
        assert (await me(http, first)).status_code == 401
        assert (await me(http)).status_code == 401
        second = await signed_in_both_ways(http, "someone")
        now = (await me(http, second)).json()
        assert now["role"] == other_role
        assert {now.get(key) for key in ("school_id", "station", "district")} - {None} == set(
            other_scope.values()
        )
        await make(http, "someone", role, **scope)  # back as it was when `first` was issued
        for headers in (first, second, None):
            assert (await me(http, headers)).status_code == 401, headers
        assert (await me(http, await bearer(http, "someone"))).status_code == 200


async def test_disabling_ends_tokens_and_sessions_and_enabling_does_not_revive_them(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE)
        await make(http, "colleague", Role.POLICE)
        old = await signed_in_both_ways(http, "officer")
        colleague = await bearer(http, "colleague")
        disabled = await invoke(http, tmp_path, "user", "disable", "--username", "officer")
        assert disabled.exit_code == 0, disabled.output
        assert disabled.output == "disabled police officer, 1 web session(s) ended\n"
        assert (await me(http, old)).status_code == 401
        assert (await me(http)).status_code == 401
        assert (await token_for(http, "officer")).status_code == 401
        assert (await me(http, colleague)).status_code == 200  # nobody else is signed out
        again = await invoke(http, tmp_path, "user", "disable", "--username", "officer")
        assert again.exit_code == 0 and again.output == "police officer was already disabled\n"

        enabled = await invoke(http, tmp_path, "user", "enable", "--username", "officer")
        assert enabled.exit_code == 0 and enabled.output == "enabled police officer\n"
        assert (await me(http, old)).status_code == 401
        assert (await me(http)).status_code == 401
        assert (await me(http, await bearer(http, "officer"))).status_code == 200  # same password
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            ended = await session.scalars(
                select(WebSession.ended_at).where(WebSession.username == "officer")
            )
            assert None not in ended.all()
            actions = await session.execute(
                select(UserAction.username, UserAction.action, UserAction.subject).order_by(
                    UserAction.id
                )
            )
            assert [tuple(row) for row in actions] == [
                ("cli", "account.created", "officer"),
                ("cli", "account.created", "colleague"),
                ("cli", "account.disabled", "officer"),
                ("cli", "account.enabled", "officer"),
            ]


async def test_a_removed_account_stays_out_when_its_name_is_used_again(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE, station=STATIONS[EAST])
        old = await signed_in_both_ways(http, "officer")
        old_cookie = http.cookies.get("campus_session")
        removed = await invoke(http, tmp_path, "user", "remove", "--username", "officer")
        assert removed.exit_code == 0, removed.output
        assert removed.output == "removed police officer, 1 web session(s) ended\n"
        assert (await me(http, old)).status_code == 401
        assert (await me(http)).status_code == 401
        assert (await token_for(http, "officer")).status_code == 401
        listed = await invoke(http, tmp_path, "user", "list")
        assert "officer" not in listed.output

        # The same name, role, scope and password: another account all the same.
        await make(http, "officer", Role.POLICE, station=STATIONS[EAST])
        assert (await me(http, old)).status_code == 401
        http.cookies.clear()
        http.cookies.set("campus_session", old_cookie or "")
        assert (await me(http)).status_code == 401
        assert (await me(http, await bearer(http, "officer"))).status_code == 200
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            actions = await session.execute(
                select(UserAction.action, UserAction.subject, UserAction.detail).order_by(
                    UserAction.id
                )
            )
            assert [tuple(row) for row in actions] == [
                ("account.created", "officer", "police of station 城关派出所"),
                ("account.removed", "officer", "police of station 城关派出所"),
                ("account.created", "officer", "police of station 城关派出所"),
            ]


async def test_the_accounts_are_listed_without_their_secrets(
    database: tuple[str, str | None], tmp_path: Path
) -> None:
    async with gateway(database) as http:
        empty = await invoke(http, tmp_path, "user", "list")
        assert empty.exit_code == 0
        assert empty.output == "no accounts yet: make one with campus-gateway user add\n"
        await make(http, "root", Role.ADMIN)
        await make(http, "guard-wang", Role.GUARD, school=EAST)
        await make(http, "officer", Role.POLICE, station=STATIONS[WEST])
        await make(http, "inspector", Role.INSPECTOR, district=DISTRICTS[EAST])
        await make(http, "city-police", Role.POLICE)
        assert (
            await invoke(http, tmp_path, "user", "disable", "--username", "officer")
        ).exit_code == 0
        listed = await invoke(http, tmp_path, "user", "list")
        assert listed.exit_code == 0, listed.output
        header, *lines = listed.output.splitlines()
        assert header.split() == [
            "username",
            "role",
            "scope",
            "enabled",
            "created",
            "(Asia/Shanghai)",
            "last",
            "changed",
        ]
        rows = {line.split()[0]: line.split() for line in lines}
        assert list(rows) == ["city-police", "guard-wang", "inspector", "officer", "root"]
        assert rows["city-police"][1:5] == ["police", "all", "schools", "yes"]
        assert rows["guard-wang"][1:5] == ["guard", "school", EAST, "yes"]
        assert rows["inspector"][1:5] == ["inspector", "district", DISTRICTS[EAST], "yes"]
        assert rows["officer"][1:5] == ["police", "station", STATIONS[WEST], "no"]
        assert rows["root"][1:5] == ["admin", "all", "schools", "yes"]
        assert rows["root"][-1] == "-"  # never changed
        assert rows["officer"][-1] != "-" and len(rows["officer"]) == len(rows["root"]) + 1
        # The columns line up, Chinese station names too (they take two columns each).
        assert len({_display_column(line, ENABLED) for line in lines}) == 1
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            for user in await UserRepository(session).list():
                assert user.password_hash not in listed.output
                assert user.token_epoch and user.token_epoch not in listed.output
        assert "argon2" not in listed.output


ENABLED = re.compile(r" (yes|no) ")


def _display_column(line: str, cell: re.Pattern[str]) -> int:
    """Where `cell` starts on `line`, in terminal columns (a Chinese character takes two)."""
    found = cell.search(line)
    assert found, line
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line[: found.start()])


@pytest.mark.parametrize("command", ["disable", "enable", "remove"])
async def test_changing_an_unknown_account_fails_naming_it(
    database: tuple[str, str | None], tmp_path: Path, command: str
) -> None:
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE)
        headers = await bearer(http, "officer")
        refused = await invoke(http, tmp_path, "user", command, "--username", "officer2")
        assert refused.exit_code == 1, refused.output
        assert "error: no account 'officer2'" in refused.output
        assert (await me(http, headers)).status_code == 200  # nothing else was touched


@pytest.mark.parametrize("credential", ["cookie", "token"])
async def test_an_open_live_feed_ends_when_its_account_is_disabled(
    database: tuple[str, str | None],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    credential: str,
) -> None:
    """A police console's stream lasts hours: it is checked again while it lasts, and ends
    (`signed_out`) once its account is disabled, by cookie and by token alike."""
    import gateway.api.live as live

    monkeypatch.setattr(live, "RECHECK_S", 0.2)
    monkeypatch.setattr(live, "KEEPALIVE_S", 0.2)
    async with gateway(database) as http:
        await make(http, "officer", Role.POLICE)
        headers = await signed_in_both_ways(http, "officer")
        if credential == "token":
            http.cookies.clear()
        params = {"access_token": headers["Authorization"][7:]} if credential == "token" else {}
        async with http.stream("GET", "/api/v1/live", params=params) as feed:
            assert feed.status_code == 200
            lines = feed.aiter_lines()
            seen: list[str] = []
            async with asyncio.timeout(10):
                while not any(line.startswith("event: ready") for line in seen):
                    seen.append(await anext(lines))
                # Still allowed: a recheck passes and the feed goes on.
                await asyncio.sleep(0.5)
                assert not any("signed_out" in line for line in seen)
                result = await invoke(http, tmp_path, "user", "disable", "--username", "officer")
                assert result.exit_code == 0, result.output
                while not any(line.startswith("event: signed_out") for line in seen):
                    seen.append(await anext(lines))
