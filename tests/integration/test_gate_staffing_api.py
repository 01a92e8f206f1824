"""The gate-staffing API against a real database (SQLite and PostgreSQL): the compliance
judgement of a recorded day, the live state of the posts, and the guard's check-in/out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import GatewayContext
from gateway.domain import (
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    EventKind,
    Picture,
    Role,
    Transport,
)
from gateway.settings import Settings, parse_settings
from gateway.storage.writes import insert_events, insert_pictures
from tests.support.context import api_client, gateway_context
from tests.support.context import bearer as support_bearer

PASSWORD = "correct-horse-battery"
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"
SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2025, 3, 10)
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "police": (Role.POLICE, None),
    "inspector": (Role.INSPECTOR, None),
    "guard.dg": (Role.GUARD, DONGGUAN),
    "guard.sy": (Role.GUARD, SHIYAN),
}


def site() -> Settings:
    return parse_settings(
        {
            "gateway": {"database_url": "sqlite+aiosqlite:///unused.db"},
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "汾阳市东关中学",
                    "gates": [{"id": "gate-north", "name": "北门", "camera": "cam-gate"}],
                    "cameras": [{"id": "cam-gate", "url": "http://127.0.0.1:9/snapshot.jpg"}],
                },
                {
                    "id": SHIYAN,
                    "name": "汾阳市实验幼儿园",
                    "gates": [{"id": "gate-main", "name": "大门"}],
                },
            ],
            "rules": {"gate_max_unstaffed_s": 600},
        }
    )


def local(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def report(
    at: datetime, staffed: bool, transport: Transport, gate: str = "gate-north"
) -> DeviceEvent:
    school = DONGGUAN if gate == "gate-north" else SHIYAN
    picture = None
    if transport is Transport.CAMERA:
        picture = Picture("cam-gate", at, "image/jpeg", b"\xff\xd8not-really-a-jpeg\xff\xd9")
    return DeviceEvent(
        device=DeviceRef(school, DeviceKind.GATE, gate),
        kind=EventKind.GUARD_ON if staffed else EventKind.GUARD_OFF,
        message_id=f"{transport.value}-{at.timestamp()}-{staffed}",
        occurred_at=at,
        received_at=at + timedelta(seconds=1),
        transport=transport,
        topic=f"test://{gate}",
        raw_payload="{}",
        picture=picture,
    )


# The recorded day at the north gate (local times): staffed since the evening before, a
# 5-minute break (within the limit), then a 20-minute absence (breaks the rule) that the
# camera saw differently.
RECORDED = [
    (local(20, 0, DAY - timedelta(days=1)), True, Transport.MQTT),
    (local(10, 0), False, Transport.MODBUS),
    (local(10, 5), True, Transport.MODBUS),
    (local(14, 0), False, Transport.MQTT),
    (local(14, 20), True, Transport.API),
    (local(13, 0), True, Transport.CAMERA),
]


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(site(), engine, ACCOUNTS, PASSWORD) as ctx:
        events = [report(at, staffed, transport) for at, staffed, transport in RECORDED]

        def store(connection: Any) -> None:
            ids = insert_events(connection, events)
            insert_pictures(connection, events, ids)

        await ctx.writer.run(store)
        yield ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        yield http


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    return await support_bearer(client, username, PASSWORD)


async def staffing(client: httpx.AsyncClient, username: str, **params: Any) -> httpx.Response:
    return await client.get(
        "/api/v1/compliance/gate-staffing", params=params, headers=await bearer(client, username)
    )


async def test_a_recorded_day_is_judged_by_its_longest_absence(client: httpx.AsyncClient) -> None:
    response = await staffing(client, "inspector", date=DAY.isoformat())
    assert response.status_code == 200, response.text
    items = {item["gate_id"]: item for item in response.json()}
    north = items["gate-north"]
    assert north["compliant"] is False
    assert north["complete"] is True
    assert north["window_start"] == "2025-03-10T00:00:00+08:00"
    assert north["window_end"] == "2025-03-11T00:00:00+08:00"
    assert north["max_unstaffed_s"] == 600
    assert [(i["start"], i["end"]) for i in north["unstaffed_intervals"]] == [
        ("2025-03-10T10:00:00+08:00", "2025-03-10T10:05:00+08:00"),
        ("2025-03-10T14:00:00+08:00", "2025-03-10T14:20:00+08:00"),
    ]
    assert north["longest_unstaffed_s"] == 1200
    assert north["unstaffed_s"] == 1500
    assert north["staffed_s"] == 86400 - 1500
    sources = {s["source"]: s for s in north["sources"]}
    assert sources["camera"]["judged"] is False
    assert sources["modbus"]["judged"] is True
    # The camera saw someone from 13:00 while the sensor said empty 14:00-14:20: shown.
    assert any(
        d["start"] == "2025-03-10T14:00:00+08:00" and d["states"]["camera"] is True
        for d in north["disagreements"]
    )
    # No report ever from the kindergarten gate: unknown counts as unstaffed all day.
    main = items["gate-main"]
    assert main["compliant"] is False
    assert main["unstaffed_s"] == 86400


async def test_the_day_after_carries_the_state_over_midnight(client: httpx.AsyncClient) -> None:
    response = await staffing(client, "admin", date=(DAY + timedelta(days=1)).isoformat())
    north = next(i for i in response.json() if i["gate_id"] == "gate-north")
    assert north["compliant"] is True
    assert north["unstaffed_intervals"] == []
    assert north["staffed_s"] == 86400


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"date": "2025-13-01"}, 422),
        ({"date": "yesterday"}, 422),
        ({"date": "2999-01-01"}, 422),
        ({"date": DAY.isoformat(), "school": "no-such-school"}, 422),
    ],
    ids=["month-13", "not-a-date", "future", "unknown-school"],
)
async def test_bad_requests_are_refused_readably(
    client: httpx.AsyncClient, params: dict[str, str], status: int
) -> None:
    response = await staffing(client, "inspector", **params)
    assert response.status_code == status, response.text
    assert response.json()["detail"]


async def test_a_guard_sees_only_their_school(client: httpx.AsyncClient) -> None:
    own = await staffing(client, "guard.dg", date=DAY.isoformat())
    assert [i["school_id"] for i in own.json()] == [DONGGUAN]
    other = await staffing(client, "guard.dg", date=DAY.isoformat(), school=SHIYAN)
    assert other.status_code == 403
    assert (await client.get("/api/v1/compliance/gate-staffing")).status_code == 401


async def test_check_in_and_out_drive_the_live_state(client: httpx.AsyncClient) -> None:
    guard = await bearer(client, "guard.dg")
    path = f"/api/v1/gates/{DONGGUAN}/gate-north"
    first = await client.post(f"{path}/check-in", json={"id": "phone-1"}, headers=guard)
    assert first.status_code == 201, first.text
    assert first.json()["stored"] is True
    assert first.json()["guard_id"] == "guard.dg"
    again = await client.post(f"{path}/check-in", json={"id": "phone-1"}, headers=guard)
    assert again.status_code == 201
    assert again.json()["stored"] is False  # a retry of the same check-in is kept once

    gates = await client.get("/api/v1/gates", headers=guard)
    assert gates.status_code == 200
    north = gates.json()[0]
    assert (north["gate_id"], north["staffed"], north["source"]) == ("gate-north", True, "api")
    assert {s["source"] for s in north["sources"]} >= {"api", "camera", "modbus", "mqtt"}

    out = await client.post(f"{path}/check-out", headers=guard)
    assert out.status_code == 201
    north = (await client.get("/api/v1/gates", headers=guard)).json()[0]
    assert north["staffed"] is False
    assert north["unstaffed_for_s"] >= 0

    today = await staffing(client, "guard.dg")
    assert today.status_code == 200
    assert today.json()[0]["complete"] is False


@pytest.mark.parametrize(
    ("username", "path", "body", "status"),
    [
        ("guard.sy", f"{DONGGUAN}/gate-north", None, 403),
        ("police", f"{DONGGUAN}/gate-north", None, 403),
        ("guard.dg", f"{DONGGUAN}/gate-south", None, 404),
        ("guard.dg", f"{DONGGUAN}/gate-north", {"at": "2999-01-01T00:00:00+08:00"}, 422),
        ("guard.dg", f"{DONGGUAN}/gate-north", {"at": "2025-01-01T00:00:00"}, 422),
        ("guard.dg", f"{DONGGUAN}/gate-north", {"when": "now"}, 422),
        ("admin", f"{SHIYAN}/gate-main", None, 201),
    ],
    ids=["other-school", "police-role", "unknown-gate", "future", "no-offset", "extra", "admin"],
)
async def test_check_in_refusals(
    client: httpx.AsyncClient, username: str, path: str, body: Any, status: int
) -> None:
    response = await client.post(
        f"/api/v1/gates/{path}/check-in", json=body, headers=await bearer(client, username)
    )
    assert response.status_code == status, response.text
