"""Signing in on the pages: the session cookie, its CSRF token, signing out, and which page
each role may open; on SQLite and PostgreSQL, through the real app (no runtime)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
from asgi_lifespan import LifespanManager

from gateway.app import create_app
from gateway.auth.passwords import hash_password
from gateway.auth.web_sessions import SESSION_COOKIE, new_token, token_hash
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.users import UserRepository
from gateway.storage.web_sessions import WebSessionRepository
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.site import site_tree

PASSWORD = "page-password-1"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "guard-wang": (Role.GUARD, "fy-dongguan-ms"),
    "officer": (Role.POLICE, None),
    "inspector": (Role.INSPECTOR, None),
    "root": (Role.ADMIN, None),
}


def settings_for(database: tuple[str, str | None]) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1",
        database_url=url,
        database_schema=schema,
        police_urls={"110": "http://127.0.0.1:9/alarm"},
    )
    return parse_settings(tree)


@asynccontextmanager
async def pages(
    database: tuple[str, str | None], base_url: str = "http://gateway.test"
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(database)
    app = create_app(settings, run_runtime=False)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        stored = hash_password(PASSWORD)
        async with app.state.context.sessions() as session:
            for username, (role, school) in ACCOUNTS.items():
                await UserRepository(session).add_or_update(username, stored, role, school)
            await session.commit()
        transport = StreamingASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


def field(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" (?:value|content)="([^"]*)"', html)
    assert found, f"no {name} in the page"
    return found.group(1)


async def sign_in(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    form = await http.get("/login", params={"next": next_path})
    assert form.status_code == 200
    return await http.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": field(form.text, "csrf_token"),
            "next": field(form.text, "next"),
        },
    )


async def page_csrf(http: httpx.AsyncClient) -> str:
    home = await http.get("/")
    assert home.status_code == 200, home.text
    return field(home.text, "csrf-token")


def set_cookie(response: httpx.Response, name: str) -> SimpleCookie:
    for header in response.headers.get_list("set-cookie"):
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            return cookie
    raise AssertionError(f"no Set-Cookie for {name}")


@pytest.mark.parametrize("path", ["/", "/police", "/guard", "/inspector?lang=en"])
async def test_a_page_sends_a_stranger_to_sign_in_and_back(
    database: tuple[str, str | None], path: str
) -> None:
    async with pages(database) as http:
        away = await http.get(path)
        assert away.status_code == 303
        assert away.headers["location"].startswith("/login?")
        back = httpx.URL(away.headers["location"]).params["next"]
        assert back == path
        signed = await sign_in(http, "root", next_path=back)
        assert signed.status_code == 303 and signed.headers["location"] == path
        assert (await http.get(path)).status_code == 200


async def test_the_session_cookie_is_http_only_and_secure_over_https(
    database: tuple[str, str | None],
) -> None:
    async with pages(database) as http:
        cookie = set_cookie(await sign_in(http, "officer"), SESSION_COOKIE)[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
        assert not cookie["secure"]  # plain http: a Secure cookie would never come back
    async with pages(database, base_url="https://gateway.test") as http:
        cookie = set_cookie(await sign_in(http, "officer"), SESSION_COOKIE)[SESSION_COOKIE]
        assert cookie["secure"]


async def test_a_forged_sign_in_form_is_refused(database: tuple[str, str | None]) -> None:
    """Login CSRF: a form posted from elsewhere has no sign-in cookie to match."""
    async with pages(database) as http:
        forged = await http.post(
            "/login", data={"username": "officer", "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 400
        assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")
        await http.get("/login")  # the real form's cookie, but not its value
        forged = await http.post(
            "/login", data={"username": "officer", "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 400
        assert (await http.get("/api/v1/auth/me")).status_code == 401


async def test_wrong_passwords_are_told_and_then_limited(database: tuple[str, str | None]) -> None:
    async with pages(database) as http:
        for _ in range(5):
            refused = await sign_in(http, "officer", password="not-the-password")
            assert refused.status_code == 401
            assert "用户名或密码不对" in refused.text
        limited = await sign_in(http, "officer")  # the right password, too late
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) > 0
        assert "登录失败次数太多" in limited.text
        # The API's sign-in shares the count: no second door with 5 more guesses.
        api = await http.post(
            "/api/v1/auth/token", data={"username": "officer", "password": PASSWORD}
        )
        assert api.status_code == 429


@pytest.mark.parametrize(
    "target", ["//evil.example/x", "https://evil.example/", "/\\evil.example", "police", ""]
)
async def test_sign_in_goes_nowhere_but_this_site(
    database: tuple[str, str | None], target: str
) -> None:
    async with pages(database) as http:
        signed = await sign_in(http, "officer", next_path=target)
        assert signed.status_code == 303 and signed.headers["location"] == "/"


async def test_writes_by_cookie_need_the_pages_csrf_token(
    database: tuple[str, str | None],
) -> None:
    async with pages(database) as http:
        await sign_in(http, "inspector")
        assert (await http.get("/api/v1/auth/me")).json()["username"] == "inspector"
        notice = {
            "school": "fy-dongguan-ms",
            "button": "btn-north",
            "window_minutes": 30,
            "police_officer": "李警官",
            "bureau_staff": "张老师",
        }
        for headers in ({}, {"X-CSRF-Token": "0" * 64}):
            refused = await http.post("/api/v1/alarm-tests/notices", json=notice, headers=headers)
            assert refused.status_code == 403
            assert "X-CSRF-Token" in refused.json()["detail"]
        listed = await http.get("/api/v1/alarm-tests/notices")
        assert listed.status_code == 200 and listed.json() == []  # nothing was written
        csrf = await page_csrf(http)
        made = await http.post(
            "/api/v1/alarm-tests/notices", json=notice, headers={"X-CSRF-Token": csrf}
        )
        assert made.status_code == 201, made.text
        assert made.json()["opened_by"] == "inspector"


async def test_signing_out_ends_the_session_on_the_server(
    database: tuple[str, str | None],
) -> None:
    async with pages(database) as http:
        await sign_in(http, "officer")
        session_token = http.cookies[SESSION_COOKIE]
        csrf = await page_csrf(http)
        # Without the token nothing happens: another site must not sign people out.
        assert (await http.post("/logout", data={"csrf_token": "x"})).status_code == 403
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        out = await http.post("/logout", data={"csrf_token": csrf})
        assert out.status_code == 303 and out.headers["location"].startswith("/login?")
        assert SESSION_COOKIE not in http.cookies
        # A copy of the cookie kept from before signs nobody in.
        http.cookies.set(SESSION_COOKIE, session_token)
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        assert (await http.get("/police")).status_code == 303


@pytest.mark.parametrize(
    ("username", "allowed"),
    [
        ("guard-wang", {"/guard"}),
        ("officer", {"/police", "/inspector"}),
        ("inspector", {"/inspector"}),
        ("root", {"/guard", "/police", "/inspector"}),
    ],
)
async def test_each_role_opens_its_pages_only(
    database: tuple[str, str | None], username: str, allowed: set[str]
) -> None:
    async with pages(database) as http:
        await sign_in(http, username)
        for path in ("/guard", "/police", "/inspector"):
            response = await http.get(path)
            assert response.status_code == (200 if path in allowed else 403), path
            if path not in allowed:
                assert "不能使用这个页面" in response.text
            assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("username", "tiles", "scope"),
    [
        ("guard-wang", ["guard"], "学校："),
        ("officer", ["police", "calendar", "tests", "report"], "全市所有学校"),
        ("inspector", ["calendar", "tests", "report", "audit"], "全市所有学校"),
        ("root", ["guard", "police", "calendar", "tests", "report", "audit"], "全市所有学校"),
    ],
)
async def test_each_role_has_its_own_home_page(
    database: tuple[str, str | None], username: str, tiles: list[str], scope: str
) -> None:
    async with pages(database) as http:
        await sign_in(http, username)
        home = await http.get("/")
        assert home.status_code == 200
        assert re.findall(r'id="tile-(\w+)"', home.text) == tiles
        assert scope in home.text
        assert f"{username}，您好" in home.text
        english = await http.get("/?lang=en")
        assert f"Hello, {username}" in english.text


async def test_a_reset_or_disabled_account_is_signed_out(
    database: tuple[str, str | None],
) -> None:
    async with pages(database) as http:
        await sign_in(http, "officer")
        settings: Settings = http.app.state.context.settings  # type: ignore[attr-defined]
        await add_user(
            settings,
            role=Role.POLICE,
            username="officer",
            password="a-new-password",
            school_id=None,
        )
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        await sign_in(http, "officer", password="a-new-password")
        assert (await http.get("/api/v1/auth/me")).status_code == 200
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            user = await UserRepository(session).get_by_username("officer")
            user.disabled = True
            await session.commit()
        assert (await http.get("/api/v1/auth/me")).status_code == 401


async def test_an_expired_session_signs_nobody_in(database: tuple[str, str | None]) -> None:
    async with pages(database) as http:
        token = new_token()
        async with http.app.state.context.sessions() as session:  # type: ignore[attr-defined]
            officer = await UserRepository(session).get_by_username("officer")
            await WebSessionRepository(session).start(
                token_hash(token),
                "officer",
                account_epoch=officer.token_epoch,  # expired, not of another epoch
                now=datetime.now(UTC) - timedelta(hours=9),
                ttl_s=3600,
            )
            await session.commit()
        http.cookies.set(SESSION_COOKIE, token)
        assert (await http.get("/api/v1/auth/me")).status_code == 401
        assert (await http.get("/police")).status_code == 303


async def test_the_live_feed_takes_the_session_cookie(database: tuple[str, str | None]) -> None:
    async with pages(database) as http:
        async with http.stream("GET", "/api/v1/live") as stranger:
            assert stranger.status_code == 401
        await sign_in(http, "guard-wang")
        async with http.stream("GET", "/api/v1/live") as guard:
            assert guard.status_code == 403
        http.cookies.clear()  # signed in, /login goes straight on: as another browser
        await sign_in(http, "officer")
        async with http.stream("GET", "/api/v1/live") as officer:
            assert officer.status_code == 200
            async for line in officer.aiter_lines():
                if line.startswith("data:"):
                    assert '"user":"officer"' in line.replace(" ", "")
                    break
