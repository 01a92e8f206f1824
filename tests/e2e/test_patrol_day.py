"""A guard's day of rounds through the running gateway (a private Mosquitto, both
databases): checkpoint readers over MQTT, the phone (a scan made offline and sent later), and
a late wand upload, judged by the compliance API; forged and moved tags are caught."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.auth.passwords import hash_password
from gateway.commands.users import add_user
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.patrol.tokens import sign_tag
from gateway.settings import Settings, parse_settings
from gateway.storage.models import HazardTicket
from gateway.storage.users import UserRepository
from simulators.patrol import Carrier, PlannedScan, forge, publish_scan
from simulators.qr_photos import TYPICAL, render_qr_photo
from tests.support.browser import ARTIFACTS, chromium_path, served, sign_in
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
SCHOOL = "fy-dongguan-ms"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "guard-password-1"


def settings_for(broker: MosquittoBroker, database: tuple[str, str | None]) -> Settings:
    url, schema = database
    tree = site_tree(mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={})
    school = tree["schools"][0]
    school["checkpoints"] = [
        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
        {"id": "cp-power", "name": "配电房", "key_area": True},
    ]
    school["guards"] = [
        {"id": "guard-li", "name": "李师傅"},
        {"id": "guard-wang", "name": "王师傅"},
    ]
    tree["patrol"]["round_times"] = ["02:00", "08:00", "12:00", "16:00", "20:00"]
    tree["rules"] = {"patrols_per_day": 5, "patrol_min_spacing_s": 3600}
    return parse_settings(tree)


def yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)


def at(hour: int, minute: int = 0) -> datetime:
    day = yesterday()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def reader(
    settings: Settings, checkpoint: str, when: datetime, tag: str | None = None
) -> PlannedScan:
    return PlannedScan(
        at=when,
        school_id=SCHOOL,
        checkpoint_id=checkpoint,
        guard_id="guard-li",
        tag=tag or sign_tag(settings.patrol, SCHOOL, checkpoint),
        carrier=Carrier.READER,
        round_at=when,
    )


async def test_a_day_of_rounds_from_readers_phone_and_wand_is_judged_right(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    settings = settings_for(mosquitto, database)
    dorm = sign_tag(settings.patrol, SCHOOL, "cp-dorm")
    power = sign_tag(settings.patrol, SCHOOL, "cp-power")
    async with running(settings) as app:
        context: GatewayContext = app.state.context
        async with context.sessions() as session:
            await UserRepository(session).add_or_update(
                "guard-li", hash_password(PASSWORD), Role.GUARD, SCHOOL
            )
            await session.commit()
        # Night and morning rounds at the readers; a forged tag and a tag moved to the
        # wrong reader.
        async with MqttPublisher(mosquitto.url, client_id="readers") as publisher:
            for scan in [
                reader(settings, "cp-dorm", at(2, 5)),
                reader(settings, "cp-power", at(2, 9)),
                reader(settings, "cp-dorm", at(7, 55)),
                reader(settings, "cp-dorm", at(8, 10)),  # 15 minutes later: not a new patrol
                reader(settings, "cp-power", at(8, 1)),
                reader(settings, "cp-dorm", at(9, 30), tag=forge(dorm)),
                reader(settings, "cp-dorm", at(9, 40), tag=power),
            ]:
                await publish_scan(publisher, "campus", scan)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            login = await http.post(
                "/api/v1/auth/token", data={"username": "guard-li", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            # Noon on the phone, offline at the time: sent later with its scan time.
            phone = await http.post(
                "/api/v1/patrols/scans",
                json={"tag": dorm, "at": at(12, 3).isoformat(), "id": "phone-1"},
                headers=headers,
            )
            assert phone.status_code == 201, phone.text
            # Afternoon and evening on the wand, uploaded the next morning.
            wand = await http.post(
                "/api/v1/patrols/uploads",
                json={
                    "device": "wand-3",
                    "records": [
                        {"guard": "guard-wang", "tag": dorm, "at": at(16, 2).isoformat()},
                        {"guard": "guard-wang", "tag": dorm, "at": at(20, 15).isoformat()},
                        {"guard": "guard-wang", "tag": power, "at": at(20, 20).isoformat()},
                    ],
                },
                headers=headers,
            )
            assert wand.json()["accepted"] == 3, wand.text

            async def judged() -> dict[str, Any]:
                response = await http.get(
                    "/api/v1/compliance/patrols",
                    params={"date": yesterday().isoformat()},
                    headers=headers,
                )
                return {item["checkpoint_id"]: item for item in response.json()}

            async def all_stored() -> bool:
                day = await judged()
                return len(day["cp-dorm"]["scans"]) == 8 and len(day["cp-power"]["scans"]) == 3

            # The readers' scans are stored by the runtime as they arrive.
            await eventually(all_stored, what="the readers' scans to be recorded", timeout_s=5)
            day = await judged()
            dorm_day, power_day = day["cp-dorm"], day["cp-power"]
            assert [(p["scanned_at"][11:16], p["source"]) for p in dorm_day["counted"]] == [
                ("02:05", "reader"),
                ("07:55", "reader"),
                ("12:03", "phone"),
                ("16:02", "upload"),
                ("20:15", "upload"),
            ]
            assert dorm_day["compliant"] is True
            assert dorm_day["complete"] is True
            assert [r["status"] for r in dorm_day["rounds"]] == ["done"] * 5
            refused = [
                (s["scanned_at"][11:16], s["reason"])
                for s in dorm_day["scans"]
                if not s["accepted"]
            ]
            assert refused == [("09:30", "forged_tag"), ("09:40", "wrong_checkpoint")]
            assert power_day["patrols"] == 3
            assert power_day["compliant"] is False
            assert power_day["remaining"] == 2


async def test_todays_rounds_from_every_source_are_shown_on_the_guards_page(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A reader scan (MQTT) and a late wand upload this morning, then a photo from the phone
    page: the page and the compliance API both show three patrols."""
    executable = chromium_path()
    now = datetime.now(SHANGHAI)
    if now.hour == 0 and now.minute < 10:
        # The scans below go back 8 minutes into today: wait for today to be long enough.
        await asyncio.sleep(600 - now.minute * 60 - now.second + 1)
        now = datetime.now(SHANGHAI)
    settings = settings_for(mosquitto, (f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}", None))
    rules = settings.rules.model_copy(update={"patrol_min_spacing_s": 60})
    settings = settings.model_copy(update={"rules": rules})
    dorm = sign_tag(settings.patrol, SCHOOL, "cp-dorm")
    await add_user(
        settings, role=Role.GUARD, username="guard-li", password=PASSWORD, school_id=SCHOOL
    )
    app = create_app(settings)
    async with served(app) as base, async_playwright() as playwright:
        context: GatewayContext = app.state.context
        await eventually(
            lambda: all(
                s.up for n, s in context.health.snapshot().items() if n.startswith("broker")
            ),
            what="the gateway to connect to the broker",
        )
        async with MqttPublisher(mosquitto.url, client_id="reader") as publisher:
            await publish_scan(
                publisher, "campus", reader(settings, "cp-dorm", now - timedelta(minutes=8))
            )
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            login = await http.post(
                "/api/v1/auth/token", data={"username": "guard-li", "password": PASSWORD}
            )
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            record = {
                "guard": "guard-wang",
                "tag": dorm,
                "at": (now - timedelta(minutes=5)).isoformat(),
            }
            wand = await http.post(
                "/api/v1/patrols/uploads", json={"records": [record]}, headers=headers
            )
            assert wand.json()["accepted"] == 1, wand.text

            async def reader_scan_stored() -> bool:
                response = await http.get("/api/v1/patrols/scans", headers=headers)
                return len(response.json()) == 2

            await eventually(reader_scan_stored, what="the reader's scan to be recorded")

        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox"]
        )
        try:
            page = await browser.new_page(viewport={"width": 360, "height": 740})
            await sign_in(page, base, "/guard", "guard-li", PASSWORD)
            card = page.locator('.due-card[data-checkpoint-id="cp-dorm"]')
            await expect(card.locator(".count")).to_have_text("今日 2/5 次")
            photo = tmp_path / "dorm.jpg"
            photo.write_bytes(render_qr_photo(dorm, TYPICAL, seed=11))
            await page.locator("#photo").set_input_files(str(photo))
            await expect(page.locator("#result-title")).to_have_text("宿舍楼 巡查已记录 (3/5)")
            await expect(page.locator("#result")).not_to_contain_text("不计入")  # it counted
            await expect(card.locator(".count")).to_have_text("今日 3/5 次")
            records = page.locator("#records li")
            await expect(records).to_have_count(3)
            await expect(page.locator("#records")).to_contain_text("巡查点读卡器")
            await expect(page.locator("#records")).to_contain_text("巡查棒补传")
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(
                path=str(ARTIFACTS / "guard-day-three-sources.png"), full_page=True
            )
        finally:
            await browser.close()
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            judged = await http.get("/api/v1/compliance/patrols", headers=headers)
        dorm_day = next(i for i in judged.json() if i["checkpoint_id"] == "cp-dorm")
        assert [p["source"] for p in dorm_day["counted"]] == ["reader", "upload", "photo"]
        assert (dorm_day["patrols"], dorm_day["compliant"], dorm_day["complete"]) == (
            3,
            False,
            False,
        )


async def test_a_missed_round_is_published_as_an_alert(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    """A round two minutes ago with a minute's grace and no scan: `patrol_overdue` on
    campus/{school}/gateway/alert for each key checkpoint, once."""
    now = datetime.now(SHANGHAI)
    due = (now - timedelta(minutes=2)).strftime("%H:%M")
    settings = settings_for(mosquitto, (f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}", None))
    patrol = settings.patrol.model_copy(update={"round_times": [due], "grace_s": 60})
    rules = settings.rules.model_copy(update={"patrols_per_day": 1})
    settings = settings.model_copy(update={"patrol": patrol, "rules": rules})
    async with alert_listener(mosquitto) as seen, running(settings) as app:
        await eventually(lambda: len(seen) >= 2, what="two patrol_overdue alerts")
        await asyncio.sleep(0.5)
        context: GatewayContext = app.state.context
        async with context.sessions() as session:
            tickets = (await session.scalars(select(HazardTicket))).all()
    # Each missed round is a hidden danger to close, ticketed with the alert.
    assert sorted((t.category, t.subject_id, t.stage) for t in tickets) == [
        ("patrol_overdue", "cp-dorm", "found"),
        ("patrol_overdue", "cp-power", "found"),
    ]
    assert len(seen) == 2
    assert {a["subject"]["id"] for a in seen} == {"cp-dorm", "cp-power"}
    alert = next(a for a in seen if a["subject"]["id"] == "cp-dorm")
    assert alert["topic"] == f"campus/{SCHOOL}/gateway/alert"
    assert (alert["kind"], alert["state"], alert["subject"]["kind"]) == (
        "patrol_overdue",
        "active",
        "checkpoint",
    )
    assert alert["round_due_at"][11:16] == due
    assert alert["message"].startswith(f"汾阳市东关中学宿舍楼{due}的巡查未完成")
