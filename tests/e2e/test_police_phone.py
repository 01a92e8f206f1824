"""The police console on an officer's phone (390x844, touch) in headless Chromium (the system
one, driven by Playwright): signing in on the sign-in page, turning the alarm sound on with a
tap, a press arriving live over MQTT, and the officer moving it on from acknowledged to closed;
then signing out, after which the console is the sign-in page's again, even from the browser's
history. The page never scrolls sideways. Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.domain import Role
from simulators.button import press_button
from tests.e2e.test_police_console import camera, settings_for
from tests.support.browser import (
    ON_SIGN_IN_PAGE,
    assert_fits_the_width,
    chromium_path,
    phone_page,
    screenshot,
    served,
    sign_in,
    sign_out,
)
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto
PASSWORD = "officer-password-1"


async def test_an_officer_takes_a_press_on_a_phone(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    executable = chromium_path()
    async with camera() as camera_url, police_centre() as centre:
        settings = settings_for(mosquitto, tmp_path, centre.url, camera_url)
        await add_user(
            settings, role=Role.POLICE, username="officer", password=PASSWORD, school_id=None
        )
        async with served(create_app(settings)) as base, async_playwright() as playwright:
            # The browser's own autoplay rule (a click first), as on a real phone.
            browser = await playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"]
            )
            try:
                page = await phone_page(browser)
                await sign_in(page, base, "/police", "officer", PASSWORD)
                await expect(page.locator("#who")).to_have_text("officer · 民警")
                await expect(page.locator("#status")).to_be_visible(timeout=10_000)
                await expect(page.locator("#alarms")).to_have_text("暂无报警")
                await assert_fits_the_width(page)

                # Opened again without a tap (from the home screen, say): the phone holds the
                # alarm sound back, and the page asks for the tap that lets it play.
                await page.reload()
                await expect(page.locator("#status")).to_be_visible(timeout=10_000)
                sound = page.get_by_role("button", name="开启报警提示音")
                await expect(sound).to_be_visible()
                await assert_fits_the_width(page)
                await screenshot(page, "police-phone-signed-in.png")
                await sound.tap()
                await expect(sound).to_be_hidden()
                assert await page.evaluate("audio.state") == "running"

                async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                    await press_button(
                        publisher, prefix="campus", school="fy-dongguan-ms", button="btn-north"
                    )
                card = page.locator("article.alarm").first
                await expect(card).to_have_attribute("data-stage", "new", timeout=15_000)
                await expect(card).to_contain_text("紧急报警 · 汾阳市东关中学 · 北门警务室")
                await expect(card).to_contain_text("王校长 13800000001")
                await expect(page.locator("body")).to_have_attribute("data-alerting", "1")
                await expect(card.locator("img")).to_be_visible(timeout=15_000)
                await assert_fits_the_width(page)
                await screenshot(page, "police-phone-new-alarm.png")

                # Each step is a write: it carries the page's CSRF token with the cookie.
                csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
                assert csrf
                async with page.expect_request(lambda r: r.url.endswith("/actions")) as sent:
                    await card.get_by_role("button", name="接警确认").tap()
                assert (await sent.value).headers.get("x-csrf-token") == csrf
                await expect(card).to_have_attribute("data-stage", "acknowledged")
                for step, stage in [
                    ("派警", "dispatched"),
                    ("到场", "on_scene"),
                    ("结警", "closed"),
                ]:
                    await card.get_by_role("button", name=step, exact=True).tap()
                    await expect(card).to_have_attribute("data-stage", stage)
                await expect(card.locator(".stage")).to_have_text("已结警")
                await expect(card.get_by_role("button")).to_have_count(0)  # nothing more to do
                await assert_fits_the_width(page)
                await screenshot(page, "police-phone-closed.png")

                await sign_out(page)
                await expect(page.get_by_role("status")).to_have_text("您已退出登录。")
                await page.go_back()  # the console from the browser's history
                await expect(page).to_have_url(ON_SIGN_IN_PAGE)
                await page.goto(f"{base}/police")
                await expect(page).to_have_url(ON_SIGN_IN_PAGE)
                await expect(page).to_have_url(f"{base}/login?next=%2Fpolice&lang=zh")
            finally:
                await browser.close()
