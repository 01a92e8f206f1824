"""The police side of an alarm: acknowledged → dispatched → on scene → closed, who and when,
forward only, visible to the school and to inspectors; a restore never closes an alarm.
Against a real database (SQLite and PostgreSQL), with the accounts and alarms of
test_api_auth_alarms (a1: 东关中学, a2: 实验幼儿园, a3: a test at 东关中学)."""

# ruff: noqa: F811 (the fixtures `client` and `context` come from test_api_auth_alarms)
from __future__ import annotations

from typing import Any

import httpx
import pytest

from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.storage.writes import insert_events
from tests.integration.test_api_auth_alarms import (  # noqa: F401 (fixtures)
    DONGGUAN,
    T0,
    bearer,
    client,
    context,
)


async def act(
    client: httpx.AsyncClient, username: str, alarm_id: str, stage: str, **extra: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/alarms/{alarm_id}/actions",
        json={"stage": stage, **extra},
        headers=await bearer(client, username),
    )


async def alarm(client: httpx.AsyncClient, username: str, alarm_id: str) -> dict[str, Any]:
    response = await client.get("/api/v1/alarms", headers=await bearer(client, username))
    assert response.status_code == 200, response.text
    return next(a for a in response.json() if a["alarm_id"] == alarm_id)


async def test_the_police_move_an_alarm_forward_and_everyone_sees_who(
    client: httpx.AsyncClient,
) -> None:
    assert (await alarm(client, "police", "a1"))["stage"] == "new"
    for stage, note in (
        ("acknowledged", None),
        ("dispatched", "城关派出所 2 组"),
        ("on_scene", None),
        ("closed", "误报：学生误触"),
    ):
        response = await act(client, "police", "a1", stage, note=note)
        assert response.status_code == 201, response.text
        assert response.json()["stage"] == stage
    for viewer in ("guard.dg", "inspector", "admin"):
        seen = await alarm(client, viewer, "a1")
        assert seen["stage"] == "closed"
        assert [(a["stage"], a["username"]) for a in seen["actions"]] == [
            ("acknowledged", "police"),
            ("dispatched", "police"),
            ("on_scene", "police"),
            ("closed", "police"),
        ]
        assert seen["actions"][1]["note"] == "城关派出所 2 组"
        assert seen["actions"][0]["at"].endswith("+08:00")


@pytest.mark.parametrize(
    ("steps", "refused"),
    [
        (["acknowledged"], "acknowledged"),
        (["dispatched"], "acknowledged"),
        (["closed"], "on_scene"),
        (["closed"], "closed"),
        ([], "new"),
    ],
    ids=["twice", "backwards", "after-closed", "close-twice", "back-to-new"],
)
async def test_an_alarm_only_moves_forward(
    client: httpx.AsyncClient, steps: list[str], refused: str
) -> None:
    for stage in steps:
        response = await act(client, "police", "a3", stage)
        assert response.status_code == 201, response.text
    response = await act(client, "police", "a3", refused)
    assert response.status_code == 409, response.text
    assert response.json()["detail"]


async def test_a_false_alarm_is_closed_at_once(client: httpx.AsyncClient) -> None:
    response = await act(client, "police", "a2", "closed", note="测试")
    assert response.status_code == 201
    assert [a["stage"] for a in response.json()["actions"]] == ["closed"]


@pytest.mark.parametrize(
    ("username", "body", "status"),
    [
        ("guard.dg", {"stage": "closed"}, 403),
        ("inspector", {"stage": "closed"}, 403),
        ("police", {"stage": "solved"}, 422),
        ("police", {"stage": "closed", "by": "me"}, 422),
        ("police", {"stage": "closed", "note": "x" * 1001}, 422),
    ],
    ids=["guard", "inspector", "unknown-stage", "extra-field", "long-note"],
)
async def test_refusals(
    client: httpx.AsyncClient, username: str, body: dict[str, Any], status: int
) -> None:
    response = await client.post(
        "/api/v1/alarms/a1/actions", json=body, headers=await bearer(client, username)
    )
    assert response.status_code == status, response.text


async def test_an_unknown_alarm_is_404(client: httpx.AsyncClient) -> None:
    assert (await act(client, "police", "no-such-alarm", "acknowledged")).status_code == 404


async def test_a_restore_from_the_button_does_not_close_the_alarm(
    client: httpx.AsyncClient, context: GatewayContext
) -> None:
    assert (await act(client, "police", "a1", "acknowledged")).status_code == 201
    restore = DeviceEvent(
        device=DeviceRef(DONGGUAN, DeviceKind.ALARM, "btn-north"),
        kind=EventKind.RESTORE,
        message_id="restore-1",
        occurred_at=T0,
        received_at=T0,
        transport=Transport.MQTT,
        topic=f"campus/{DONGGUAN}/alarm/btn-north/event",
        raw_payload="{}",
    )
    await context.writer.run(lambda connection: insert_events(connection, [restore]))
    assert (await alarm(client, "police", "a1"))["stage"] == "acknowledged"


async def test_the_live_feed_is_for_the_police(client: httpx.AsyncClient) -> None:
    token = (await bearer(client, "guard.dg"))["Authorization"].split()[1]
    refused = await client.get("/api/v1/live", params={"access_token": token})
    assert refused.status_code == 403
    assert (await client.get("/api/v1/live", params={"access_token": "x"})).status_code == 401
    anonymous = await client.get("/api/v1/live")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_an_alarm_without_a_picture_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/alarms/a1/snapshot", headers=await bearer(client, "police")
    )
    assert response.status_code == 404
    other = await client.get("/api/v1/schools", headers=await bearer(client, "guard.sy"))
    assert [s["id"] for s in other.json()] == ["fy-shiyan-kg"]
