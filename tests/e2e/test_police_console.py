"""The police console in headless Chromium (the system one, driven by Playwright): sign in
on the sign-in page, a press over MQTT appears live with a sound cue, the camera's picture
and the school's contacts; the officer acknowledges and closes it. A screenshot is kept in
test-artifacts/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from simulators.button import press_button
from simulators.camera import CameraOptions, SimulatedCamera, serve_camera
from tests.support.browser import (
    ARTIFACTS,
    ON_SIGN_IN_PAGE,
    chromium_path,
    fill_sign_in,
    served,
    sign_out,
)
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
PASSWORD = "officer-password-1"


def settings_for(broker: MosquittoBroker, tmp_path: Path, police: str, camera: str) -> Settings:
    tree = site_tree(
        mqtt_url=broker.url,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}",
        database_schema=None,
        police_urls={"110": police},
    )
    school = tree["schools"][0]
    school["cameras"][0]["url"] = camera
    school["address"] = "汾阳市东关街 12 号"
    school["contacts"] = [{"name": "王校长", "role": "校长", "phone": "13800000001"}]
    return parse_settings(tree)


@asynccontextmanager
async def camera() -> AsyncIterator[str]:
    cam = SimulatedCamera(CameraOptions(port=0, present=True))
    ready = asyncio.Event()
    task = asyncio.create_task(serve_camera(cam.options, camera=cam, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        yield f"http://127.0.0.1:{cam.port}/snapshot.jpg"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/police")
    await expect(page).to_have_url(ON_SIGN_IN_PAGE)  # signed out: the sign-in page first
    await fill_sign_in(page, "officer", PASSWORD)
    await expect(page).to_have_url(f"{base}/police")
    await expect(page.get_by_role("heading", name="接警台 · 护校安园")).to_be_visible()
    await expect(page.locator("#who")).to_have_text("officer · 民警")
    await expect(page.locator("#status")).to_be_visible(timeout=10_000)  # the live feed


async def test_a_press_appears_live_and_the_officer_closes_it(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    executable = chromium_path()
    async with camera() as camera_url, police_centre() as centre:
        settings = settings_for(mosquitto, tmp_path, centre.url, camera_url)
        await add_user(
            settings, role=Role.POLICE, username="officer", password=PASSWORD, school_id=None
        )
        async with served(create_app(settings)) as base, async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable,
                args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"],
            )
            try:
                page = await browser.new_page(viewport={"width": 1280, "height": 900})
                await sign_in(page, base)
                # Sound is allowed without a click in this browser: nothing to ask for.
                await expect(page.locator("#sound")).to_be_hidden()
                async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                    await press_button(
                        publisher, prefix="campus", school="fy-dongguan-ms", button="btn-north"
                    )
                card = page.locator("article.alarm").first
                await expect(card).to_have_attribute("data-stage", "new", timeout=15_000)
                await expect(card).to_contain_text("紧急报警 · 汾阳市东关中学 · 北门警务室")
                await expect(card).to_contain_text("王校长 13800000001")
                await expect(card).to_contain_text("汾阳市东关街 12 号")
                await expect(page.locator("body")).not_to_have_attribute("data-alerting", "0")
                await expect(card.locator("img")).to_be_visible(timeout=15_000)
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / "police-console-new-alarm.png"))

                await card.get_by_role("button", name="接警确认").click()
                await expect(card).to_have_attribute("data-stage", "acknowledged")
                await card.get_by_role("button", name="结警").click()
                await expect(page.locator("article.alarm").first).to_have_attribute(
                    "data-stage", "closed"
                )
                await page.screenshot(path=str(ARTIFACTS / "police-console-closed.png"))
            finally:
                await browser.close()


async def test_the_console_speaks_english_too_and_refuses_a_wrong_password(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    executable = chromium_path()
    async with police_centre() as centre:
        settings = settings_for(mosquitto, tmp_path, centre.url, "http://127.0.0.1:9/x.jpg")
        await add_user(
            settings, role=Role.POLICE, username="officer", password=PASSWORD, school_id=None
        )
        async with served(create_app(settings, run_runtime=False)) as base, async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            try:
                page = await browser.new_page(viewport={"width": 360, "height": 740})
                await page.goto(f"{base}/police?lang=en")
                await expect(page).to_have_url(ON_SIGN_IN_PAGE)
                await expect(page.locator("html")).to_have_attribute("lang", "en")
                await fill_sign_in(page, "nobody", "wrong-password", lang="en")
                await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
                await fill_sign_in(page, "officer", PASSWORD, lang="en")
                await expect(page).to_have_url(f"{base}/police?lang=en")
                await expect(page.get_by_role("heading", name="Police console")).to_be_visible()
                await expect(page.locator("#who")).to_have_text("officer · police")
                await expect(page.locator("#alarms")).to_have_text("No alarms")
                # The sign-in click counts for this page too (same site): sound is allowed.
                sound = page.get_by_role("button", name="Turn on alarm sound")
                await expect(sound).to_be_hidden()
                # Opened again without a click (a reload, the PC started in the morning): the
                # browser holds the alarm sound back until the officer clicks, and the page
                # says so; its button does it, and so does a click anywhere on the page.
                await page.reload()
                await expect(sound).to_be_visible()
                await sound.click()
                await expect(sound).to_be_hidden()
                await page.reload()
                await expect(sound).to_be_visible()
                await page.locator("h1").click()
                await expect(sound).to_be_hidden()

                await sign_out(page, lang="en")
                await expect(page.get_by_role("status")).to_have_text("You have signed out.")
                await page.goto(f"{base}/police?lang=en")
                await expect(page).to_have_url(ON_SIGN_IN_PAGE)
            finally:
                await browser.close()


async def test_an_unacknowledged_alarm_shows_its_escalation(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    executable = chromium_path()
    async with police_centre() as centre:
        centre.centre.set_failing(True)  # the receiving centre answers 503 to everything
        settings = settings_for(mosquitto, tmp_path, centre.url, "http://127.0.0.1:9/x.jpg")
        settings = settings.model_copy(
            update={"linkage": settings.linkage.model_copy(update={"escalation_s": 1.0})}
        )
        await add_user(
            settings, role=Role.POLICE, username="officer", password=PASSWORD, school_id=None
        )
        async with served(create_app(settings)) as base, async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"]
            )
            try:
                page = await browser.new_page()
                await sign_in(page, base)
                async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                    await press_button(
                        publisher, prefix="campus", school="fy-shiyan-kg", button="btn-gate"
                    )
                card = page.locator("article.alarm").first
                await expect(card).to_contain_text("接警中心未确认", timeout=15_000)
                await expect(card.locator(".escalated")).to_contain_text(
                    "接警中心超时未确认，已升级", timeout=15_000
                )
                # Heard twice: the press, then its escalation.
                await expect(page.locator("body")).to_have_attribute("data-alerting", "2")
            finally:
                await browser.close()
