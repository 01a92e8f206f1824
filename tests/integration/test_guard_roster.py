"""The guard roster against a real database (SQLite and PostgreSQL): training sessions
recorded through the API, and each school judged for its guards' ages, quarterly training and
number against the minimum for its pupils."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from tests.support.context import api_client, bearer, gateway_context

PASSWORD = "roster-password-1"
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "inspector": (Role.INSPECTOR, None),
    "guard-li": (Role.GUARD, DONGGUAN),
    "guard-sun": (Role.GUARD, SHIYAN),
}
TODAY = datetime.now(UTC).date()  # the site below keeps UTC days


def years_ago(years: int, days: int = 0) -> str:
    born = date(TODAY.year - years, TODAY.month, 28 if TODAY.day > 28 else TODAY.day)
    return (born - timedelta(days=days)).isoformat()


def site() -> Settings:
    return parse_settings(
        {
            "gateway": {"timezone": "UTC"},
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "东关中学",
                    "day_pupils": 1600,  # 3 guards from 1,000 and one more from 1,500: 4
                    "guards": [
                        {"id": "guard-li", "name": "李师傅", "birth_date": years_ago(45)},
                        {"id": "guard-wang", "name": "王师傅", "birth_date": years_ago(62)},
                        {
                            "id": "guard-zhao",
                            "name": "赵师傅",
                            "birth_date": years_ago(30),
                            "full_time": False,
                        },
                        {"id": "guard-qian", "name": "钱师傅"},
                    ],
                },
                {
                    "id": SHIYAN,
                    "name": "实验幼儿园",
                    "day_pupils": 80,
                    "guards": [{"id": "guard-sun", "name": "孙师傅", "birth_date": years_ago(50)}],
                },
            ],
        }
    )


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    context: GatewayContext
    async with (
        gateway_context(site(), engine, ACCOUNTS, PASSWORD) as context,
        api_client(context) as http,
    ):
        yield http


async def roster(http: httpx.AsyncClient, user: str) -> dict[str, Any]:
    response = await http.get(
        "/api/v1/compliance/guards", headers=await bearer(http, user, PASSWORD)
    )
    assert response.status_code == 200, response.text
    return {item["school_id"]: item for item in response.json()}


async def test_a_roster_is_judged_with_its_trainings(client: httpx.AsyncClient) -> None:
    inspector = await bearer(client, "inspector", PASSWORD)
    for guard in ("guard-li", "guard-wang"):
        response = await client.post(
            f"/api/v1/guards/{DONGGUAN}/{guard}/trainings",
            json={"date": TODAY.isoformat(), "topic": "防暴器械使用", "hours": 2},
            headers=inspector,
        )
        assert response.status_code == 201, response.text
    sun = await client.post(
        f"/api/v1/guards/{SHIYAN}/guard-sun/trainings",
        json={"date": TODAY.isoformat(), "topic": "应急处置演练"},
        headers=inspector,
    )
    assert sun.json()["recorded_by"] == "inspector"

    schools = await roster(client, "inspector")
    dongguan = schools[DONGGUAN]
    assert (dongguan["day_pupils"], dongguan["required"], dongguan["full_time"]) == (1600, 4, 3)
    assert (dongguan["enough"], dongguan["compliant"]) == (False, False)
    guards = {g["guard_id"]: g for g in dongguan["guards"]}
    assert guards["guard-li"]["flags"] == []
    assert guards["guard-li"]["compliant"] is True
    assert guards["guard-li"]["age"] == 45
    assert guards["guard-li"]["last_training"] == TODAY.isoformat()
    assert guards["guard-wang"]["flags"] == ["over_age"]
    assert guards["guard-zhao"]["flags"] == [
        "not_full_time",
        "training_overdue",
        "not_trained_this_quarter",
    ]
    assert guards["guard-qian"]["flags"] == [
        "training_overdue",
        "not_trained_this_quarter",
        "no_birth_date",
    ]
    shiyan = schools[SHIYAN]
    assert (shiyan["required"], shiyan["enough"], shiyan["compliant"]) == (1, True, True)
    # A guard sees his own school only.
    own = await roster(client, "guard-sun")
    assert list(own) == [SHIYAN]
    listed = await client.get(
        f"/api/v1/guards/{DONGGUAN}/guard-li/trainings",
        headers=await bearer(client, "guard-li", PASSWORD),
    )
    assert [t["topic"] for t in listed.json()] == ["防暴器械使用"]


async def test_bad_training_records(client: httpx.AsyncClient) -> None:
    inspector = await bearer(client, "inspector", PASSWORD)
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    future = await client.post(
        f"/api/v1/guards/{DONGGUAN}/guard-li/trainings",
        json={"date": tomorrow, "topic": "x"},
        headers=inspector,
    )
    assert future.status_code == 422
    assert "in the future" in future.json()["detail"][0]["msg"]
    unknown = await client.post(
        f"/api/v1/guards/{DONGGUAN}/nobody/trainings",
        json={"date": TODAY.isoformat(), "topic": "x"},
        headers=inspector,
    )
    assert unknown.status_code == 404
    guard = await client.post(
        f"/api/v1/guards/{DONGGUAN}/guard-li/trainings",
        json={"date": TODAY.isoformat(), "topic": "x"},
        headers=await bearer(client, "guard-li", PASSWORD),
    )
    assert guard.status_code == 403
    other = await client.get(
        f"/api/v1/guards/{DONGGUAN}/guard-li/trainings",
        headers=await bearer(client, "guard-sun", PASSWORD),
    )
    assert other.status_code == 403
