"""The REST API's sign-in, role checks and alarm list, against a real database (SQLite and
PostgreSQL); and `campus-gateway user add` on a SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import Depends, FastAPI
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gateway.api.deps import require_roles
from gateway.api.routes import build_api_router
from gateway.auth.login_limit import LoginLimiter
from gateway.auth.passwords import hash_password, needs_rehash, verify_password
from gateway.auth.tokens import Principal
from gateway.bus import EventBus
from gateway.commands.users import InvalidAccount, add_user
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings, parse_settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.models import Alarm, Event, PoliceDelivery, User
from gateway.storage.users import UserRepository
from gateway.storage.writer import DatabaseWriter

PASSWORD = "correct-horse-battery"
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"
T0 = datetime(2025, 3, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai


def site(database_url: str = "sqlite+aiosqlite:///unused.db") -> Settings:
    return parse_settings(
        {
            "gateway": {"database_url": database_url, "timezone": "Asia/Shanghai"},
            "police": [
                {
                    "id": "city-110",
                    "kind": "webhook",
                    "url": "http://127.0.0.1:9/a",
                    "secret": "s" * 16,
                },
                {
                    "id": "district-110",
                    "kind": "webhook",
                    "url": "http://127.0.0.1:9/b",
                    "secret": "s" * 16,
                },
            ],
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "汾阳市东关中学",
                    "alarm_buttons": [{"id": "btn-north", "location": "北门警务室", "zone": 1}],
                },
                {
                    "id": SHIYAN,
                    "name": "汾阳市实验幼儿园",
                    "alarm_buttons": [{"id": "btn-gate", "location": "大门传达室", "zone": 1}],
                },
            ],
        }
    )


ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "police": (Role.POLICE, None),
    "inspector": (Role.INSPECTOR, None),
    "guard.dg": (Role.GUARD, DONGGUAN),
    "guard.sy": (Role.GUARD, SHIYAN),
}


async def add_alarm(
    session: AsyncSession,
    alarm_id: str,
    *,
    school: str,
    received_at: datetime,
    kind: str = "emergency",
    acknowledged: dict[str, bool],
) -> None:
    """An alarm as the pipeline stores it: its event, the alarm, one delivery per endpoint."""
    name, button, location = (
        ("汾阳市东关中学", "btn-north", "北门警务室")
        if school == DONGGUAN
        else ("汾阳市实验幼儿园", "btn-gate", "大门传达室")
    )
    event = Event(
        school_id=school,
        device_kind="alarm",
        device_id=button,
        message_id=f"m-{alarm_id}",
        kind="press" if kind == "emergency" else "test",
        transport="mqtt",
        occurred_at=received_at - timedelta(seconds=1),
        received_at=received_at,
        clock_skew_s=1.0,
        topic=f"campus/{school}/alarm/{button}/event",
        raw_payload="{}",
    )
    session.add(event)
    await session.flush()
    alarm = Alarm(
        alarm_id=alarm_id,
        event_id=event.id,
        kind=kind,
        school_id=school,
        school_name=name,
        device_id=button,
        location=location,
        zone=1,
        source_id=f"m-{alarm_id}",
        occurred_at=received_at - timedelta(seconds=1),
        received_at=received_at,
    )
    session.add(alarm)
    await session.flush()
    for endpoint_id, acked in acknowledged.items():
        session.add(
            PoliceDelivery(
                alarm_pk=alarm.id,
                endpoint_id=endpoint_id,
                lane=f"{school}/{button}",
                attempts=1 if acked else 3,
                created_at=received_at,
                next_attempt_at=received_at + timedelta(seconds=8),
                last_attempt_at=received_at,
                acknowledged_at=received_at + timedelta(seconds=0.25) if acked else None,
                latency_s=1.25 if acked else None,
                last_status=200 if acked else 503,
                last_response="ok" if acked else "busy",
            )
        )


@pytest.fixture
async def context(engine: AsyncEngine) -> GatewayContext:
    ctx = GatewayContext(
        settings=site(),
        engine=engine,
        sessions=create_sessionmaker(engine),
        metrics=GatewayMetrics(),
        health=HealthBoard(),
        bus=EventBus(),
        token_secret="x" * 32,
        writer=DatabaseWriter(engine),
    )
    stored = hash_password(PASSWORD)  # one hash for every account keeps the test quick
    async with ctx.sessions() as session:
        users = UserRepository(session)
        for username, (role, school) in ACCOUNTS.items():
            await users.add_or_update(username, stored, role, school)
        await add_alarm(
            session,
            "a1",
            school=DONGGUAN,
            received_at=T0,
            acknowledged={"city-110": True, "district-110": True},
        )
        await add_alarm(
            session,
            "a2",
            school=SHIYAN,
            received_at=T0 + timedelta(hours=1),
            acknowledged={"city-110": True, "district-110": False},
        )
        await add_alarm(
            session,
            "a3",
            school=DONGGUAN,
            received_at=T0 + timedelta(hours=2),
            kind="test",
            acknowledged={"city-110": False, "district-110": False},
        )
        await session.commit()
    return ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(build_api_router())

    # A route only police may use, to see require_roles refuse a role (admin passes).
    @app.get("/police-only")
    async def police_only(
        principal: Annotated[Principal, Depends(require_roles(Role.POLICE))],
    ) -> dict[str, str]:
        return {"username": principal.username}

    app.state.context = context
    app.state.login_limiter = LoginLimiter()  # as create_app does
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await sign_in(client, username)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def alarms(client: httpx.AsyncClient, username: str, **params: Any) -> httpx.Response:
    return await client.get("/api/v1/alarms", params=params, headers=await bearer(client, username))


async def test_sign_in_returns_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await sign_in(client, "guard.dg")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 8 * 3600
    assert (body["role"], body["username"], body["school_id"]) == ("guard", "guard.dg", DONGGUAN)
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200
    assert me.json()["role"] == "guard"
    assert me.json()["expires_at"].endswith("+08:00")


@pytest.mark.parametrize(
    ("username", "password"), [("police", "wrong-password"), ("nobody", PASSWORD)]
)
async def test_wrong_credentials_get_one_generic_401(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await sign_in(client, username, password)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": "wrong username or password"}


async def test_missing_form_fields_are_a_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": "police"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "password"]


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic cG9saWNl"}]
)
async def test_no_or_bad_token_is_a_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    response = await client.get("/api/v1/alarms", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "sign" in response.json()["detail"]


async def test_a_disabled_or_changed_account_loses_its_token_at_once(
    client: httpx.AsyncClient, context: GatewayContext
) -> None:
    police, inspector = await bearer(client, "police"), await bearer(client, "inspector")
    async with context.sessions() as session:
        await session.execute(update(User).where(User.username == "police").values(disabled=True))
        await session.execute(
            update(User).where(User.username == "inspector").values(role="guard", school_id=SHIYAN)
        )
        await session.commit()
    for headers in (police, inspector):
        response = await client.get("/api/v1/alarms", headers=headers)
        assert response.status_code == 401
        assert "sign in again" in response.json()["detail"]
    assert (await sign_in(client, "police")).status_code == 401


@pytest.mark.parametrize(
    ("username", "status"),
    [("police", 200), ("admin", 200), ("guard.dg", 403), ("inspector", 403)],
)
async def test_a_wrong_role_is_a_403(client: httpx.AsyncClient, username: str, status: int) -> None:
    response = await client.get("/police-only", headers=await bearer(client, username))
    assert response.status_code == status
    if status == 403:
        role = ACCOUNTS[username][0]
        assert response.json() == {
            "detail": f"role {role} may not use this (allowed: admin, police)"
        }


async def test_a_guard_sees_his_own_school_only(client: httpx.AsyncClient) -> None:
    own = await alarms(client, "guard.dg")
    assert own.status_code == 200
    assert [a["alarm_id"] for a in own.json()] == ["a3", "a1"]
    assert (await alarms(client, "guard.dg", school=DONGGUAN)).status_code == 200
    other = await alarms(client, "guard.dg", school=SHIYAN)
    assert other.status_code == 403
    assert SHIYAN in other.json()["detail"]


@pytest.mark.parametrize("username", ["police", "inspector", "admin"])
async def test_every_school_newest_first(client: httpx.AsyncClient, username: str) -> None:
    response = await alarms(client, username)
    assert response.status_code == 200
    assert [a["alarm_id"] for a in response.json()] == ["a3", "a2", "a1"]


async def test_filters(client: httpx.AsyncClient) -> None:
    async def ids(**params: Any) -> list[str]:
        response = await alarms(client, "police", **params)
        assert response.status_code == 200, response.text
        return [a["alarm_id"] for a in response.json()]

    assert await ids(school=DONGGUAN) == ["a3", "a1"]
    assert await ids(school=SHIYAN) == ["a2"]
    # since is inclusive, until exclusive; offsets are honoured (09:00+08:00 is 01:00Z).
    assert await ids(since="2025-03-01T09:00:00+08:00") == ["a3", "a2"]
    assert await ids(until="2025-03-01T01:00:00Z") == ["a1"]
    assert await ids(since="2025-03-01T00:30:00Z", until="2025-03-01T10:00:00+08:00") == ["a2"]
    assert await ids(kind="test") == ["a3"]
    assert await ids(kind="emergency", school=DONGGUAN) == ["a1"]
    assert await ids(limit=1) == ["a3"]
    assert await ids(since="2025-03-02T00:00:00+08:00") == []


async def test_delivery_state_is_shown(client: httpx.AsyncClient) -> None:
    response = await alarms(client, "police")
    by_id = {a["alarm_id"]: a for a in response.json()}
    a1, a2, a3 = by_id["a1"], by_id["a2"], by_id["a3"]
    assert a1["delivered"] is True
    assert a2["delivered"] is False
    assert a3["delivered"] is False
    assert a1 | {"deliveries": None} == {
        "alarm_id": "a1",
        "kind": "emergency",
        "school_id": DONGGUAN,
        "school_name": "汾阳市东关中学",
        "device_id": "btn-north",
        "location": "北门警务室",
        "zone": 1,
        "occurred_at": "2025-03-01T07:59:59+08:00",
        "received_at": "2025-03-01T08:00:00+08:00",
        "source_id": "m-a1",
        "deliveries": None,
        "delivered": True,
        "stage": "new",
        "actions": [],
        "escalated_at": None,
    }
    assert a2["deliveries"] == [
        {
            "endpoint_id": "city-110",
            "state": "acknowledged",
            "attempts": 1,
            "next_attempt_at": None,
            "acknowledged_at": "2025-03-01T09:00:00.250000+08:00",
            "latency_s": 1.25,
            "last_status": 200,
            "last_response": "ok",
        },
        {
            "endpoint_id": "district-110",
            "state": "pending",
            "attempts": 3,
            "next_attempt_at": "2025-03-01T09:00:08+08:00",
            "acknowledged_at": None,
            "latency_s": None,
            "last_status": 503,
            "last_response": "busy",
        },
    ]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"since": "2025-03-01T08:00:00"}, "since", "timezone"),
        ({"until": "yesterday"}, "until", "datetime"),
        ({"school": "no-such-school"}, "school", "no school 'no-such-school'"),
        ({"kind": "fire"}, "kind", "emergency"),
        ({"limit": "0"}, "limit", "greater than or equal to 1"),
        ({"limit": "1001"}, "limit", "less than or equal to 1000"),
        (
            {"since": "2025-03-01T10:00:00+08:00", "until": "2025-03-01T09:00:00+08:00"},
            "until",
            "later than since",
        ),
    ],
)
async def test_bad_input_is_a_readable_422(
    client: httpx.AsyncClient, params: dict[str, str], field: str, message: str
) -> None:
    response = await alarms(client, "police", **params)
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", field]
    assert message in error["msg"]


async def test_add_user_creates_then_updates(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    settings = site(url)
    created = await add_user(
        settings, role=Role.GUARD, username="li.wei", password="first-password", school_id=SHIYAN
    )
    updated = await add_user(
        settings, role=Role.INSPECTOR, username="li.wei", password="second-password", school_id=None
    )
    assert (created, updated) == (True, False)
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            user = await UserRepository(session).get_by_username("li.wei")
            assert (user.role, user.school_id, user.disabled) == ("inspector", None, False)
            verify_password(user.password_hash, "second-password")
            assert [u.username for u in await UserRepository(session).list()] == ["li.wei"]
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("role", "username", "password", "school", "problem"),
    [
        (Role.POLICE, "ab", "long-enough", None, "username 'ab'"),
        (Role.POLICE, "wang wei", "long-enough", None, "username 'wang wei'"),
        (Role.POLICE, "wang", "short", None, "at least 8 characters"),
        (
            Role.POLICE,
            "wang",
            "long-enough",
            "nowhere",
            "school 'nowhere' is not in the configuration",
        ),
        (Role.GUARD, "wang", "long-enough", None, "a guard belongs to one school"),
        (Role.ADMIN, "wang", "long-enough", SHIYAN, "an admin sees every school"),
    ],
)
async def test_add_user_refuses_bad_accounts(
    tmp_path: Path, role: Role, username: str, password: str, school: str | None, problem: str
) -> None:
    database = tmp_path / "users.db"
    settings = site(f"sqlite+aiosqlite:///{database}")
    with pytest.raises(InvalidAccount, match=problem):
        await add_user(settings, role=role, username=username, password=password, school_id=school)
    assert not database.exists()  # refused before anything was written


async def test_sign_in_upgrades_a_weak_hash(
    client: httpx.AsyncClient, context: GatewayContext
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    async with context.sessions() as session:
        await UserRepository(session).add_or_update("old.timer", weak, Role.POLICE, None)
        await session.commit()
    assert (await sign_in(client, "old.timer")).status_code == 200
    async with context.sessions() as session:
        stored = (await UserRepository(session).get_by_username("old.timer")).password_hash
    assert stored != weak
    assert not needs_rehash(stored)
    verify_password(stored, PASSWORD)


async def test_a_guard_on_a_one_school_site_belongs_to_that_school(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'one.db'}"
    tree = site(url).model_dump(mode="json", exclude_defaults=True)
    tree["schools"] = tree["schools"][:1]
    await add_user(
        parse_settings(tree),
        role=Role.GUARD,
        username="zhao",
        password="long-enough",
        school_id=None,
    )
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            assert (await UserRepository(session).get_by_username("zhao")).school_id == DONGGUAN
    finally:
        await engine.dispose()
