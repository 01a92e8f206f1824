"""Monthly alarm tests end to end (a private Mosquitto, both databases, a simulated police
centre): a test announced in advance turns the button's press into a `test` that carries the
notice to the police; the month's record holds the receipts and the testers; a test no police
endpoint acknowledged fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from drivers.mqtt.publisher import MqttPublisher
from gateway.alarmtests import queries as alarm_test_queries
from gateway.auth.passwords import hash_password
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.users import UserRepository
from simulators.button import press_button
from tests.support.gateway import running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
SCHOOL = "fy-dongguan-ms"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "tester-password-1"


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], police: str
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url,
        database_url=url,
        database_schema=schema,
        police_urls={"110": police},
    )
    tree["linkage"] = {"escalation_s": 2, "snapshot_wait_s": 0}
    return parse_settings(tree)


async def headers_for(
    app: FastAPI, http: httpx.AsyncClient, username: str, role: Role
) -> dict[str, str]:
    context: GatewayContext = app.state.context
    async with context.sessions() as session:
        await UserRepository(session).add_or_update(username, hash_password(PASSWORD), role, None)
        await session.commit()
    login = await http.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


async def month(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await http.get("/api/v1/compliance/alarm-tests", headers=headers)
    assert response.status_code == 200, response.text
    return {item["button_id"]: item for item in response.json()}


async def test_an_announced_test_goes_to_the_police_as_a_test_with_its_notice(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url)
        async with running(settings) as app, MqttPublisher(mosquitto.url, client_id="btn") as pub:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                police = await headers_for(app, http, "officer", Role.POLICE)
                inspector = await headers_for(app, http, "inspector", Role.INSPECTOR)
                before = await month(http, inspector)
                assert before["btn-north"]["passed"] == 0
                assert before["btn-north"]["compliant"] is False
                opened = await http.post(
                    "/api/v1/alarm-tests/notices",
                    json={
                        "school": SCHOOL,
                        "button": "btn-north",
                        "window_minutes": 30,
                        "police_officer": "张警官",
                        "bureau_staff": "李老师",
                    },
                    headers=police,
                )
                assert opened.status_code == 201, opened.text
                notice = opened.json()
                assert notice["state"] == "open"

                # The school presses the button: the announced test.
                await press_button(pub, prefix="campus", school=SCHOOL, button="btn-north")
                await eventually(lambda: len(centre.centre.receipts) == 1, what="the test at 110")
                receipt = centre.centre.receipts[0]
                assert receipt.kind == "test"
                assert receipt.test_notice is not None
                assert receipt.test_notice["id"] == notice["notice_id"]
                for edge in ("window_start", "window_end"):
                    sent = datetime.fromisoformat(receipt.test_notice[edge])
                    # The webhook gives milliseconds (spec 4.1's times), the API microseconds.
                    gap = sent - datetime.fromisoformat(notice[edge])
                    assert abs(gap) < timedelta(milliseconds=1)

                # A second press in the window is an emergency again: the notice is answered.
                await press_button(pub, prefix="campus", school=SCHOOL, button="btn-north")
                await eventually(lambda: len(centre.centre.receipts) == 2, what="the second press")
                assert centre.centre.receipts[1].kind == "emergency"
                assert centre.centre.receipts[1].test_notice is None

                async def recorded() -> bool:
                    tests = (await month(http, inspector))["btn-north"]["tests"]
                    return len(tests) == 1 and bool(tests[0]["receipts"][0]["acknowledged_at"])

                await eventually(recorded, what="the receipt on record")
                north = (await month(http, inspector))["btn-north"]
                assert (north["passed"], north["compliant"], north["required"]) == (1, True, 1)
                test = north["tests"][0]
                assert test["result"] == "passed"
                assert test["notice_id"] == notice["notice_id"]
                assert (test["police_officer"], test["bureau_staff"]) == ("张警官", "李老师")
                assert test["receipts"][0]["endpoint_id"] == "110"
                assert test["receipts"][0]["latency_s"] is not None
                assert test["receipt_latency_s"] == test["receipts"][0]["latency_s"]
                listed = await http.get("/api/v1/alarm-tests/notices", headers=inspector)
                assert [n["state"] for n in listed.json()] == ["answered"]
                cancel = await http.post(
                    f"/api/v1/alarm-tests/notices/{notice['notice_id']}/cancel", headers=police
                )
                assert cancel.status_code == 409


async def test_a_buttons_own_test_gets_its_testers_and_one_without_receipt_fails(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # One test per query: the receipts and testers must still find their tests when a
    # city's month is read in slices.
    monkeypatch.setattr(alarm_test_queries, "KEYS_PER_QUERY", 1)
    async with police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url)
        async with running(settings) as app, MqttPublisher(mosquitto.url, client_id="btn") as pub:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                police = await headers_for(app, http, "officer", Role.POLICE)
                await press_button(
                    pub, prefix="campus", school=SCHOOL, button="btn-north", event="test"
                )
                await eventually(lambda: len(centre.centre.receipts) == 1, what="the test at 110")
                alarm_id = centre.centre.receipts[0].alarm_id
                assert centre.centre.receipts[0].test_notice is None
                testers = await http.put(
                    f"/api/v1/alarm-tests/{alarm_id}/testers",
                    json={"police_officer": "王警官", "bureau_staff": "赵老师", "note": "季度联测"},
                    headers=police,
                )
                assert testers.status_code == 200, testers.text
                # The centre goes silent; the office button's test gets no receipt.
                centre.centre.set_failing(True)
                await press_button(
                    pub, prefix="campus", school=SCHOOL, button="btn-office", event="test"
                )

                async def office_failed() -> bool:
                    tests = (await month(http, police))["btn-office"]["tests"]
                    return len(tests) == 1 and tests[0]["result"] == "failed"

                await eventually(office_failed, what="the unacknowledged test to fail")
                buttons = await month(http, police)
                office = buttons["btn-office"]
                assert (office["passed"], office["compliant"]) == (0, False)
                assert office["tests"][0]["receipts"][0]["acknowledged_at"] is None
                north = buttons["btn-north"]
                assert north["tests"][0]["police_officer"] == "王警官"
                assert north["tests"][0]["note"] == "季度联测"
                assert north["compliant"] is True
                due = (await http.get("/api/v1/alarm-tests/due", headers=police)).json()
                this_month = datetime.now(SHANGHAI).strftime("%Y-%m")
                pending = [(b["button_id"], b["due_soon"]) for b in due if b["month"] == this_month]
                assert {button for button, _ in pending} == {"btn-office", "btn-gate"}
                assert [b["due_soon"] for b in due if b["month"] == this_month] == sorted(
                    (b["due_soon"] for b in due if b["month"] == this_month), reverse=True
                )
                # Nothing was tested last month: every button is overdue for it.
                overdue = {b["button_id"] for b in due if b["month"] != this_month}
                assert overdue == {"btn-north", "btn-office", "btn-gate"}
                assert all(b["overdue"] for b in due if b["month"] != this_month)


async def test_bad_requests(mosquitto: MosquittoBroker, database: tuple[str, str | None]) -> None:
    async with police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url)
        async with running(settings) as app:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                police = await headers_for(app, http, "officer", Role.POLICE)
                guard = await headers_for(app, http, "guard-x", Role.GUARD)
                body = {
                    "school": SCHOOL,
                    "button": "btn-gone",
                    "police_officer": "a",
                    "bureau_staff": "b",
                }
                missing = await http.post("/api/v1/alarm-tests/notices", json=body, headers=police)
                assert missing.status_code == 422
                assert "btn-north" in missing.json()["detail"][0]["msg"]
                body["button"] = "btn-north"
                assert (
                    await http.post("/api/v1/alarm-tests/notices", json=body, headers=guard)
                ).status_code == 403
                late = {**body, "starts_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
                assert (
                    await http.post("/api/v1/alarm-tests/notices", json=late, headers=police)
                ).status_code == 422
                for bad in ("2026-13", "2026-1", "soon"):
                    response = await http.get(
                        "/api/v1/compliance/alarm-tests", params={"month": bad}, headers=police
                    )
                    assert response.status_code == 422, bad
                future = (datetime.now(SHANGHAI) + timedelta(days=40)).strftime("%Y-%m")
                response = await http.get(
                    "/api/v1/compliance/alarm-tests", params={"month": future}, headers=police
                )
                assert response.status_code == 422
                unknown = await http.put(
                    "/api/v1/alarm-tests/nope/testers",
                    json={"police_officer": "a", "bureau_staff": "b"},
                    headers=police,
                )
                assert unknown.status_code == 404
