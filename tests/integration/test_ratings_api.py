"""The quarterly ratings against a real database (SQLite and PostgreSQL): a school that did
everything in the third quarter of 2026 is 示范 and up from the quarter before (no tests
then), down again in the fourth (no tests); a school whose gate never reported is 不合格
throughout; the quarter before the gateway was in use gives no previous level."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.reports.ratings import quarter_ratings
from gateway.settings import Settings, parse_settings
from tests.support import report_records as records
from tests.support.context import api_client, bearer, gateway_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "rating-password-1"
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "inspector": (Role.INSPECTOR, None),
    "officer": (Role.POLICE, None),
    "guard-li": (Role.GUARD, DONGGUAN),
}
URL = "/api/v1/compliance/ratings"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def site() -> Settings:
    return parse_settings(
        {
            "police": [
                {
                    "id": "city-110",
                    "kind": "webhook",
                    "url": "http://127.0.0.1:9/",
                    "secret": "s" * 8,
                }
            ],
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "汾阳市东关中学",
                    "district": "城关区",
                    "day_pupils": 80,
                    "alarm_buttons": [
                        {"id": "btn-north", "location": "北门", "zone": 1, "camera": "cam-north"}
                    ],
                    "gates": [{"id": "gate-north", "name": "北门"}],
                    "cameras": [{"id": "cam-north", "url": "http://127.0.0.1:9/north.jpg"}],
                    "guards": [{"id": "guard-li", "name": "李师傅", "birth_date": "1980-03-01"}],
                },
                {
                    "id": SHIYAN,
                    "name": "汾阳市实验幼儿园",
                    "day_pupils": 80,
                    "gates": [{"id": "gate-main", "name": "大门"}],
                    "guards": [{"id": "guard-sun", "name": "孙师傅", "birth_date": "1963-05-01"}],
                },
            ],
        }
    )


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(site(), engine, ACCOUNTS, PASSWORD) as ctx:
        # 东关中学's gate: staffed from 1 March 2026 (the gateway's first record) on.
        await records.gate_reports(ctx, DONGGUAN, "gate-north", [(local("2026-03-01 08:00"), True)])
        # A test each month of the third quarter, acknowledged by the police; an emergency
        # in August, acknowledged. Nothing tested in the second quarter nor the fourth.
        for day in ("2026-07-05", "2026-08-05", "2026-09-05"):
            await records.alarm(
                ctx, DONGGUAN, "btn-north", local(f"{day} 10:00"), test=True, ack_after_s=2
            )
        await records.alarm(ctx, DONGGUAN, "btn-north", local("2026-08-20 10:00"), ack_after_s=5)
        yield ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        yield http


async def ratings(
    client: httpx.AsyncClient, quarter: str | None, user: str = "inspector"
) -> dict[str, dict[str, object]]:
    params = {} if quarter is None else {"quarter": quarter}
    response = await client.get(URL, params=params, headers=await bearer(client, user, PASSWORD))
    assert response.status_code == 200, response.text
    return {item["school"]: item for item in response.json()}


async def test_a_school_rises_to_demonstration_and_falls_again(client: httpx.AsyncClient) -> None:
    third = await ratings(client, "2026-Q3")
    assert third[DONGGUAN] == {
        "school": DONGGUAN,
        "name": "汾阳市东关中学",
        "district": "城关区",
        "quarter": "2026-Q3",
        "level": "demonstration",
        "level_text": "示范",
        "reasons": [],
        "previous_level": "failing",  # no test in the second quarter
        "change": "up",
        "provisional": False,
    }
    shiyan = third[SHIYAN]
    assert (shiyan["level"], shiyan["level_text"]) == ("failing", "不合格")
    assert (shiyan["previous_level"], shiyan["change"]) == ("failing", "same")
    assert shiyan["district"] is None
    reasons = shiyan["reasons"]
    assert isinstance(reasons, list)
    assert any(str(reason).startswith("校门值守达标日") for reason in reasons), reasons

    fourth = await ratings(client, "2026-Q4", user="officer")
    assert (fourth[DONGGUAN]["level"], fourth[DONGGUAN]["change"]) == ("failing", "down")
    assert fourth[DONGGUAN]["previous_level"] == "demonstration"


async def test_the_quarter_before_the_gateway_was_in_use_has_no_level(
    client: httpx.AsyncClient,
) -> None:
    first = await ratings(client, "2026-Q1")
    for school in (DONGGUAN, SHIYAN):
        assert (first[school]["previous_level"], first[school]["change"]) == (None, "new")
    # January and February before the gate's first report count as unstaffed.
    assert first[DONGGUAN]["level"] == "failing"


async def test_a_quarter_under_way_is_provisional(context: GatewayContext) -> None:
    async with context.sessions() as session:
        rated = await quarter_ratings(
            session, context.settings, "2026-Q3", now=local("2026-09-15 12:00")
        )
    dongguan = next(r for r in rated if r.school.id == DONGGUAN)
    assert dongguan.provisional is True
    assert dongguan.rating.months_rated == 3  # July, August, 1 to 14 September
    assert dongguan.rating.level == "demonstration"
    assert dongguan.rating.gate_days.required == 31 + 31 + 14


async def test_the_default_quarter_who_may_see_it_and_bad_quarters(
    client: httpx.AsyncClient,
) -> None:
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    yesterday = today - timedelta(days=1)
    expected = f"{yesterday.year}-Q{(yesterday.month - 1) // 3 + 1}"
    under_way = f"{today.year}-Q{(today.month - 1) // 3 + 1}" == expected
    default = await ratings(client, None)
    assert {item["quarter"] for item in default.values()} == {expected}
    assert {item["provisional"] for item in default.values()} == {under_way}

    guard = await client.get(URL, headers=await bearer(client, "guard-li", PASSWORD))
    assert guard.status_code == 403
    inspector = await bearer(client, "inspector", PASSWORD)
    one = await client.get(URL, params={"quarter": "2026-Q3", "school": SHIYAN}, headers=inspector)
    assert [item["school"] for item in one.json()] == [SHIYAN]
    for quarter, message in (
        ("2026-Q5", "not a quarter: expected YYYY-Qn"),
        ("2026-3", "not a quarter"),
        ("2099-Q1", "has no complete day yet"),
        ("1999-Q4", "the year must be from 2000 to 2100"),
    ):
        bad = await client.get(URL, params={"quarter": quarter}, headers=inspector)
        assert bad.status_code == 422, quarter
        detail = bad.json()["detail"][0]
        assert detail["loc"] == ["query", "quarter"]
        assert message in detail["msg"], detail
