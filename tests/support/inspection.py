"""The inspectors' page tests' site: the gateway on real services with a month worth
inspecting, made through its real paths (MQTT presses answered, or not, by the simulated
police centre; check-ins and patrol uploads over the HTTP API), a browser, and what the tests
do on the page again and again (sign in, open a tab, check it fits a phone).

What it leaves, with the test site of tests/support/site.py:
- btn-north (东关中学) tested today with the police receipt on record: passed, testers named;
- btn-office (东关中学) tested today while the centre refuses everything: failed;
- btn-gate (实验幼儿园) untested;
- yesterday at 东关中学: the north gate staffed all day and the dormitory patrolled 5 times
  (every item met); at 实验幼儿园 nobody checked in (nothing met)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from playwright.async_api import Browser, Page, ViewportSize, async_playwright, expect
from sqlalchemy import Connection

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Role, Transport
from gateway.patrol.tokens import sign_tag
from gateway.settings import Settings, parse_settings
from gateway.storage.database import create_engine
from gateway.storage.delivery_outcomes import record_acknowledged
from gateway.storage.writer import DatabaseWriter
from gateway.storage.writes import create_alarm, event_key, insert_events
from simulators.button import press_button
from tests.support.browser import chromium_path, served
from tests.support.browser import sign_in as sign_in_on_the_page
from tests.support.police import RunningCentre, eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

SCHOOL, KINDERGARTEN = "fy-dongguan-ms", "fy-shiyan-kg"
TESTED, FAILED, UNTESTED = "btn-north", "btn-office", "btn-gate"
GATE, CHECKPOINT, GUARD = "gate-north", "cp-dorm", "guard-li"
PATROL_HOURS = (8, 10, 12, 14, 16)  # five rounds, well over the minimum spacing apart
TESTERS = {"police_officer": "张警官", "bureau_staff": "李老师", "note": "月度联测"}
PASSWORD = "inspector-password-1"  # every account's
INSPECTOR, OFFICER = "duban-wang", "officer"
PHONE: ViewportSize = {"width": 360, "height": 740}
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
BROWSER_ZONE = "Europe/Berlin"  # not the site's: the page must not use the computer's zone
MIN_TARGET_PX = 44


@dataclass(frozen=True, slots=True)
class Seeded:
    today: date  # the site's
    yesterday: date
    tested_alarm_id: str
    failed_alarm_id: str


def site_today(settings: Settings) -> date:
    """The site's today, after waiting out midnight if it is minutes away: a test must not see
    "today" change under it. Call it before the gateway starts (it may sleep)."""
    zone = settings.gateway.zone
    now = datetime.now(zone)
    to_midnight = 24 * 3600 - (now.hour * 3600 + now.minute * 60 + now.second)
    if to_midnight < 300:
        time.sleep(to_midnight + 1)
    return datetime.now(zone).date()


async def sign_in_api(http: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await http.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def buttons_this_month(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await http.get("/api/v1/compliance/alarm-tests", headers=headers)
    response.raise_for_status()
    return {item["button_id"]: item for item in response.json()}


async def seed_alarm_tests(
    http: httpx.AsyncClient,
    publisher: MqttPublisher,
    centre: RunningCentre,
    police: dict[str, str],
) -> tuple[str, str]:
    """A passed test (receipt on record, testers named) and a failed one; their alarm ids."""
    await press_button(publisher, prefix="campus", school=SCHOOL, button=TESTED, event="test")

    async def receipted() -> bool:
        tests = (await buttons_this_month(http, police))[TESTED]["tests"]
        return len(tests) == 1 and tests[0]["result"] == "passed"

    await eventually(receipted, what="the police receipt of the first test")
    tested = (await buttons_this_month(http, police))[TESTED]["tests"][0]["alarm_id"]
    named = await http.put(f"/api/v1/alarm-tests/{tested}/testers", json=TESTERS, headers=police)
    named.raise_for_status()

    centre.centre.set_failing(True)  # from now on the centre answers 503: no receipt
    await press_button(publisher, prefix="campus", school=SCHOOL, button=FAILED, event="test")

    async def failed() -> bool:
        tests = (await buttons_this_month(http, police))[FAILED]["tests"]
        return len(tests) == 1 and tests[0]["result"] == "failed"

    await eventually(failed, what="the unreceipted test to fail")
    failed_id = (await buttons_this_month(http, police))[FAILED]["tests"][0]["alarm_id"]
    return tested, failed_id


async def seed_yesterday(
    http: httpx.AsyncClient, settings: Settings, guard: dict[str, str], yesterday: date
) -> None:
    """东关中学's yesterday with every item met: the gate staffed from the evening before (and
    still), the key checkpoint patrolled five times, uploaded late as from a patrol wand."""
    zone = settings.gateway.zone
    midnight = datetime.combine(yesterday, datetime.min.time(), tzinfo=zone)
    on_post = midnight - timedelta(hours=1)
    checked = await http.post(
        f"/api/v1/gates/{SCHOOL}/{GATE}/check-in",
        json={"id": "seed-on-post", "at": on_post.isoformat()},
        headers=guard,
    )
    assert checked.status_code == 201, checked.text
    tag = sign_tag(settings.patrol, SCHOOL, CHECKPOINT)
    records = [
        {"guard": GUARD, "tag": tag, "at": (midnight + timedelta(hours=h)).isoformat()}
        for h in PATROL_HOURS
    ]
    uploaded = await http.post(
        "/api/v1/patrols/uploads", json={"device": "wand-1", "records": records}, headers=guard
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["accepted"] == len(PATROL_HOURS), uploaded.text


async def seed(
    http: httpx.AsyncClient,
    settings: Settings,
    publisher: MqttPublisher,
    centre: RunningCentre,
    *,
    police: dict[str, str],
    guard: dict[str, str],
    today: date,
) -> Seeded:
    yesterday = today - timedelta(days=1)
    await seed_yesterday(http, settings, guard, yesterday)
    tested, failed = await seed_alarm_tests(http, publisher, centre, police)
    return Seeded(today, yesterday, tested, failed)


def quarter_start(day: date, quarters_back: int = 0) -> date:
    index = day.year * 4 + (day.month - 1) // 3 - quarters_back
    return date(index // 4, (index % 4) * 3 + 1, 1)


async def seed_last_quarter(settings: Settings, today: date) -> None:
    """实验幼儿园 passing last quarter, so that this quarter (its button untested) is a
    downgrade: its gate staffed from before last quarter until this one began, its button
    tested in each month with the police receipt. Written by the gateway's own write
    functions (a week is as far back as the API takes a record)."""
    zone = settings.gateway.zone
    school = settings.school(KINDERGARTEN)
    assert school is not None
    button = school.alarm_buttons[0]
    gate = school.gates[0].id
    began = quarter_start(today, 1)
    months = [date(began.year, began.month + n, 1) for n in range(3)]

    def at(day: date, hour: int) -> datetime:
        return datetime.combine(day, datetime.min.time(), tzinfo=zone).replace(hour=hour)

    def event(kind: EventKind, device: DeviceRef, when: datetime, name: str) -> DeviceEvent:
        utc = when.astimezone(UTC)
        return DeviceEvent(
            device=device,
            kind=kind,
            message_id=f"seed-{name}",
            occurred_at=utc,
            received_at=utc,
            transport=Transport.MQTT,
            topic=f"campus/{KINDERGARTEN}/{device.kind}/{device.device_id}/event",
            raw_payload=json.dumps({"event": kind.value, "id": f"seed-{name}"}),
        )

    post = DeviceRef(KINDERGARTEN, DeviceKind.GATE, gate)
    staffing = [
        event(EventKind.GUARD_ON, post, at(began, 0) - timedelta(hours=1), "on"),
        event(EventKind.GUARD_OFF, post, at(quarter_start(today), 0), "off"),
    ]
    tests = [
        event(
            EventKind.TEST,
            DeviceRef(KINDERGARTEN, DeviceKind.ALARM, button.id),
            at(m, 10),
            m.isoformat(),
        )
        for m in months
    ]

    def write(connection: Connection) -> None:
        ids = insert_events(connection, [*staffing, *tests])
        for test in tests:
            _, deliveries = create_alarm(
                connection,
                event_id=ids[event_key(test)],
                event=test,
                school=school,
                button=button,
                endpoint_ids=["110"],
            )
            acknowledged = test.received_at + timedelta(seconds=1)
            record_acknowledged(
                connection,
                deliveries[0].id,
                at=acknowledged,
                latency_s=1.0,
                status=200,
                response="seeded",
            )

    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    writer = DatabaseWriter(engine)
    try:
        await writer.run(write)
    finally:
        await writer.aclose()
        await engine.dispose()


# ---- The site, and the page ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Site:
    settings: Settings
    base: str
    browser: Browser
    seeded: Seeded
    inspector: dict[str, str]  # the inspector's Authorization header, for the API's view


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], police: str
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": police}
    )
    tree["schools"][0]["district"] = "汾阳市城区"
    tree["linkage"] = {"escalation_s": 2, "snapshot_wait_s": 0}  # unreceipted: failed in 2 s
    return parse_settings(tree)


async def broker_up(app: FastAPI) -> None:
    context: GatewayContext = app.state.context
    await eventually(
        lambda: all(
            s.up for name, s in context.health.snapshot().items() if name.startswith("broker")
        ),
        what="the gateway to connect to the broker",
    )


@asynccontextmanager
async def inspection_site(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], *, last_quarter: bool = False
) -> AsyncIterator[Site]:
    """The gateway with the seeded month (and with `last_quarter`, the quarter before the
    last complete day's, written first: the gateway's first record dates its use), and a
    browser."""
    executable = chromium_path()
    async with police_centre() as centre:
        settings = settings_for(mosquitto, database, centre.url)
        today = site_today(settings)
        for username, role, school in [
            (INSPECTOR, Role.INSPECTOR, None),
            (OFFICER, Role.POLICE, None),
            (GUARD, Role.GUARD, SCHOOL),
        ]:
            await add_user(
                settings, role=role, username=username, password=PASSWORD, school_id=school
            )
        if last_quarter:
            await seed_last_quarter(settings, today - timedelta(days=1))
        app = create_app(settings)
        async with (
            served(app) as base,
            httpx.AsyncClient(base_url=base, timeout=15) as http,
            MqttPublisher(mosquitto.url, client_id="seed-buttons") as publisher,
        ):
            await broker_up(app)
            police = await sign_in_api(http, OFFICER, PASSWORD)
            guard = await sign_in_api(http, GUARD, PASSWORD)
            seeded = await seed(
                http, settings, publisher, centre, police=police, guard=guard, today=today
            )
            inspector = await sign_in_api(http, INSPECTOR, PASSWORD)
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(
                    executable_path=executable, args=["--no-sandbox"]
                )
                try:
                    yield Site(settings, base, browser, seeded, inspector)
                finally:
                    await browser.close()


async def new_page(browser: Browser, *, phone: bool, lang: str = "zh-CN") -> Page:
    if phone:
        context = await browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale=lang,
            timezone_id=BROWSER_ZONE,
        )
    else:
        context = await browser.new_context(
            viewport=DESKTOP, locale=lang, timezone_id=BROWSER_ZONE, accept_downloads=True
        )
    return await context.new_page()


async def sign_in(page: Page, base: str, username: str = INSPECTOR) -> None:
    """Open the inspector's page signed out: the sign-in page, then back to the page."""
    await sign_in_on_the_page(page, base, "/inspector", username, PASSWORD)
    await expect(page.get_by_role("heading", name="督导检查 · 护校安园")).to_be_visible()
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#who")).to_have_text(f"{username} · 督导")


async def assert_fits_a_phone(page: Page) -> None:
    """No sideways scrolling of the page, and every visible target at least 44x44 CSS px."""
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    targets: list[list[Any]] = await page.evaluate(
        """() => [...document.querySelectorAll(
              'button, a, select, summary, label.check, input:not([type=checkbox])')]
            .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
            .map((e) => {
              const r = e.getBoundingClientRect();
              return [e.id || e.textContent.trim().slice(0, 20), r.width, r.height];
            })"""
    )
    assert len(targets) >= 4, targets
    small = [t for t in targets if t[1] < MIN_TARGET_PX or t[2] < MIN_TARGET_PX]
    assert not small, f"targets under {MIN_TARGET_PX} px: {small}"


async def api_get(site: Site, path: str) -> Any:
    async with httpx.AsyncClient(base_url=site.base, timeout=30) as http:
        response = await http.get(path, headers=site.inspector)
        response.raise_for_status()
        return response.json()


def wall_clock(iso: str) -> str:
    """How the page shows a time the API gave: the site's wall clock, to the second."""
    return f"{iso[:10]} {iso[11:19]}"


async def open_tab(page: Page, name: str) -> None:
    await page.get_by_role("tab", name=name).click()
    await expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")
