"""The guard's phone page in headless Chromium (the system one, driven by Playwright) at a
phone's 360x740: sign in (on the sign-in page), the key checkpoint due today, a scan with the
live camera (Chromium's fake camera playing a video of the checkpoint's QR poster), a forged
poster photographed and refused, check-in and check-out at the gate, a scan kept while offline
and sent when the network is back (through a session that ended meanwhile), English, a wrong
password, another role's account refused. Screenshots go to test-artifacts/.

No broker: the app serves the API and the pages only (`run_runtime=False`)."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
from playwright.async_api import (
    Browser,
    Page,
    ViewportSize,
    async_playwright,
    expect,
)

from drivers.camera.qr import encode_qr
from drivers.camera.qr_photo_ops import encode_jpeg
from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.patrol.tokens import sign_tag
from gateway.settings import Settings, parse_settings
from simulators.qr_photos import TYPICAL, render_qr_photo
from tests.support.browser import (
    ON_SIGN_IN_PAGE,
    chromium_path,
    fill_sign_in,
    screenshot,
    served,
    sign_out,
)
from tests.support.site import site_tree

PASSWORD = "guard-password-1"
SCHOOL, CHECKPOINT, GATE, GUARD = "fy-dongguan-ms", "cp-dorm", "gate-north", "guard-li"
VIEWPORT: ViewportSize = {"width": 360, "height": 740}
SITE_ZONE = ZoneInfo("Asia/Shanghai")  # the test site's zone (the default)
SCAN_TIMEOUT_MS = 30_000  # the fake camera starts, frames go up every 600 ms


@dataclass(frozen=True, slots=True)
class Site:
    settings: Settings
    base: str
    page: Page


def settings_for(tmp_path: Path) -> Settings:
    """The test site, its first round of the day at this minute: a round is due now."""
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1",  # never dialled: no runtime
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}",
        database_schema=None,
        police_urls={},
    )
    now = datetime.now(SITE_ZONE)
    to_midnight = (24 * 3600) - (now.hour * 3600 + now.minute * 60 + now.second)
    if to_midnight < 180:
        # A test started just before local midnight would see "today" change under it.
        time.sleep(to_midnight + 1)
        now = datetime.now(SITE_ZONE)
    tree["patrol"]["first_round"] = now.strftime("%H:%M")
    settings = parse_settings(tree)
    assert settings.gateway.zone == SITE_ZONE
    return settings


@asynccontextmanager
async def guard_site(tmp_path: Path, *chromium_args: str) -> AsyncIterator[Site]:
    """The gateway with guard-li's account, and a phone-sized page in Chromium."""
    executable = chromium_path()
    settings = settings_for(tmp_path)
    await add_user(settings, role=Role.GUARD, username=GUARD, password=PASSWORD, school_id=SCHOOL)
    await add_user(
        settings, role=Role.POLICE, username="officer", password=PASSWORD, school_id=None
    )
    app = create_app(settings, run_runtime=False)
    async with served(app) as base, async_playwright() as playwright:
        browser: Browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", *chromium_args]
        )
        try:
            context = await browser.new_context(
                viewport=VIEWPORT,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
                timezone_id="Asia/Shanghai",  # the guard's phone, like the site
            )
            yield Site(settings, base, await context.new_page())
        finally:
            await browser.close()


async def sign_in(page: Page, base: str) -> None:
    await page.goto(f"{base}/guard")
    await expect(page).to_have_url(ON_SIGN_IN_PAGE)  # signed out: the sign-in page first
    await fill_sign_in(page, GUARD, PASSWORD)
    await expect(page).to_have_url(f"{base}/guard")
    await expect(page.get_by_role("heading", name="保安巡查 · 护校安园")).to_be_visible()
    await expect(page.locator("#app")).to_be_visible()
    await expect(page.locator("#who")).to_have_text("guard-li · 保安")
    await expect(page.locator("#school")).to_have_text("汾阳市东关中学")


async def assert_fits_the_width(page: Page) -> None:
    """Nothing wider than the screen: no scrolling sideways."""
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= VIEWPORT["width"], f"the page is {width} px wide"


async def assert_fits_a_phone(page: Page) -> None:
    """Nothing wider than the screen, and every visible target at least 48x48 CSS px."""
    await assert_fits_the_width(page)
    targets: list[list[Any]] = await page.evaluate(
        """() => [...document.querySelectorAll('button, a, label.button, input:not([type=file])')]
            .filter((e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
            .map((e) => {
              const r = e.getBoundingClientRect();
              return [e.id || e.textContent.trim(), r.width, r.height];
            })"""
    )
    assert len(targets) >= 4, targets
    small = [t for t in targets if t[1] < 48 or t[2] < 48]
    assert not small, f"targets under 48 px: {small}"


async def guard_token(client: httpx.AsyncClient) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": GUARD, "password": PASSWORD}
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def api_get(base: str, path: str) -> Any:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.get(path, headers=await guard_token(client))
        response.raise_for_status()
        return response.json()


def dorm_card(page: Page) -> Any:
    return page.locator(f'.due-card[data-checkpoint-id="{CHECKPOINT}"]')


async def test_the_guard_signs_in_and_sees_the_key_checkpoint_due(tmp_path: Path) -> None:
    async with guard_site(tmp_path) as site:
        page = site.page
        await sign_in(page, site.base)
        card = dorm_card(page)
        await expect(card.locator("h3")).to_have_text("宿舍楼")
        await expect(card.locator(".count")).to_have_text("今日 0/5 次")
        await expect(card).to_have_attribute("data-patrols", "0")
        await expect(card.locator(".round")).to_have_count(5)
        await expect(card.locator(".round.done")).to_have_count(0)
        # The round of this minute is open: highlighted, at the site's clock.
        now_round = site.settings.patrol.first_round
        await expect(card).to_have_attribute("data-status", "due")
        await expect(card.locator(".next")).to_have_text(f"现在该巡查（{now_round} 这一轮）")
        await expect(card.locator(".next")).to_have_class("next now")
        await expect(card.locator(".round.due")).to_have_text(now_round)
        # Rounds every 288 min from it; those past midnight fell earlier today: missed.
        hours, minutes = map(int, now_round.split(":"))
        missed = sum(hours * 60 + minutes + 288 * k >= 24 * 60 for k in range(1, 5))
        await expect(card.locator(".round.overdue")).to_have_count(missed)
        if missed:
            await expect(card.locator(".missed")).to_have_text(f"漏巡 {missed} 轮")
        else:
            await expect(card.locator(".missed")).to_have_count(0)
        await expect(page.get_by_role("button", name="扫码巡查")).to_be_visible()
        await expect(page.locator("#photo-label")).to_have_text("拍照上传")
        await expect(page.locator("#photo")).to_have_attribute("capture", "environment")
        await expect(page.get_by_role("button", name="NFC 扫描")).to_be_hidden()  # no Web NFC
        await expect(page.locator("#records")).to_have_text("今天还没有扫码记录")
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-signed-in.png")


async def test_a_scan_with_the_live_camera_is_recorded_once(tmp_path: Path) -> None:
    from drivers.camera.y4m import write_y4m  # being written alongside this page

    settings = settings_for(tmp_path)
    # The fake camera loops 2 s of bare wall, then 2 s of the checkpoint's poster on it.
    poster = encode_qr(sign_tag(settings.patrol, SCHOOL, CHECKPOINT), module_px=8)
    wall = np.empty((480, 640, 3), dtype=np.uint8)
    wall[:] = (200, 214, 222)  # BGR: a cream corridor wall
    frame = wall.copy()
    top, left = (480 - poster.shape[0]) // 2, (640 - poster.shape[1]) // 2
    frame[top : top + poster.shape[0], left : left + poster.shape[1]] = poster[..., None]
    video = tmp_path / "poster.y4m"
    write_y4m(video, [wall] * 20 + [frame] * 20, fps=10)
    async with guard_site(
        tmp_path,
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={video}",
    ) as site:
        page = site.page
        statuses: list[int] = []  # the gateway's answer to each frame
        page.on(
            "response",
            lambda r: statuses.append(r.status) if r.url.endswith("/scans/photo") else None,
        )
        # The client id each frame carried (Playwright does not show multipart bodies).
        await page.add_init_script(
            """const append = FormData.prototype.append; window.sentIds = [];
            FormData.prototype.append = function (name, value, ...rest) {
              if (name === "id") window.sentIds.push(value);
              return append.call(this, name, value, ...rest);
            };"""
        )
        await sign_in(page, site.base)
        await expect(dorm_card(page).locator(".count")).to_have_text("今日 0/5 次")
        async with page.expect_response(lambda r: r.url.endswith("/scans/photo")) as first:
            await page.get_by_role("button", name="扫码巡查").click()
        assert (await first.value).status == 422  # the bare wall: no code, keep looking
        await expect(page.locator("#scanner")).to_be_visible()
        await expect(page.locator("#scanner-hint")).to_have_text("请把巡查点二维码放在框内")
        await expect(page.locator("#photo-label")).to_be_hidden()  # the viewfinder on top
        await screenshot(page, "guard-scanning.png")

        result = page.locator("#result")
        await expect(result).to_have_attribute("data-outcome", "accepted", timeout=SCAN_TIMEOUT_MS)
        await expect(page.locator("#result-title")).to_have_text("宿舍楼 巡查已记录 (1/5)")
        await expect(page.locator("#scanner")).to_be_hidden()  # the camera is off
        await expect(page.get_by_role("button", name="扫码巡查")).to_be_visible()
        card = dorm_card(page)
        await expect(card.locator(".count")).to_have_text("今日 1/5 次")
        await expect(card.locator(".round.done")).to_have_text(site.settings.patrol.first_round)
        await expect(card).not_to_have_attribute("data-status", "due")  # this round is done
        record = page.locator("#records li").first
        await expect(record).to_have_attribute("data-accepted", "true")
        await expect(record.locator(".name")).to_have_text("宿舍楼")
        await expect(record.locator(".source")).to_have_text("手机扫码")
        await expect(record.locator(".message")).to_have_text("✓ 巡查已记录")
        await expect(page.locator("#records li")).to_have_count(1)
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-scan-recorded.png")

        # Frames went up until one showed the code, all under one session id; then no more.
        assert statuses[-1] == 201 and set(statuses[:-1]) == {422}, statuses
        ids = await page.evaluate("window.sentIds")
        assert len(ids) == len(statuses) and len(set(ids)) == 1, ids
        (day,) = await api_get(site.base, "/api/v1/compliance/patrols")
        assert (day["checkpoint_id"], day["patrols"]) == (CHECKPOINT, 1)
        assert [p["source"] for p in day["counted"]] == ["phone"]
        assert [(s["source"], s["accepted"], s["guard_id"]) for s in day["scans"]] == [
            ("phone", True, GUARD)
        ]


def forged(tag: str) -> str:
    return tag[:-1] + ("B" if tag.endswith("A") else "A")


async def test_a_photo_of_a_forged_poster_is_refused_and_listed(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    photo = tmp_path / "forged.jpg"
    photo.write_bytes(
        render_qr_photo(forged(sign_tag(settings.patrol, SCHOOL, CHECKPOINT)), TYPICAL, seed=3)
    )
    blank = tmp_path / "wall.jpg"
    blank.write_bytes(encode_jpeg(np.full((480, 640, 3), 200, dtype=np.uint8), 90))
    async with guard_site(tmp_path) as site:
        page = site.page
        await sign_in(page, site.base)
        await page.locator("#photo").set_input_files(str(photo))
        result = page.locator("#result")
        await expect(result).to_have_attribute("data-outcome", "refused", timeout=15_000)
        await expect(result).to_have_attribute("role", "alert")
        await expect(page.locator("#result-title")).to_have_text("巡查未计入：伪造的巡查码")
        record = page.locator("#records li").first
        await expect(record).to_have_attribute("data-accepted", "false")
        await expect(record).to_have_attribute("data-reason", "forged_tag")
        await expect(record.locator(".message")).to_have_text("✗ 伪造的巡查码")
        await expect(record.locator(".source")).to_have_text("拍照")
        await expect(dorm_card(page).locator(".count")).to_have_text("今日 0/5 次")
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-forged-refused.png")

        # A photo without a code: said so, nothing recorded.
        await page.locator("#photo").set_input_files(str(blank))
        await expect(page.locator("#result-title")).to_have_text(
            "照片里没有找到二维码，请靠近一点再拍"
        )
        await expect(result).to_have_attribute("data-outcome", "error")
        await expect(page.locator("#records li")).to_have_count(1)

        refused = await api_get(site.base, "/api/v1/patrols/scans?accepted=false")
        assert [(s["reason"], s["source"], s["accepted"]) for s in refused] == [
            ("forged_tag", "photo", False)
        ]


async def test_the_guard_checks_in_and_out_at_the_gate(tmp_path: Path) -> None:
    async with guard_site(tmp_path) as site:
        page = site.page
        await sign_in(page, site.base)
        gate = page.locator(f'.gate-card[data-gate-id="{GATE}"]')
        await expect(gate.locator("h3")).to_have_text("北门")
        await expect(gate).to_have_attribute("data-staffed", "null")
        await expect(gate.locator(".state")).to_have_text("暂无在岗记录")

        await gate.get_by_role("button", name="上岗签到").click()
        await expect(gate).to_have_attribute("data-staffed", "true")
        await expect(gate.locator(".state")).to_have_text(re_clock("在岗 · 自 "))
        await expect(gate.locator(".feedback")).to_have_text("北门 上岗签到成功")
        (state,) = await api_get(site.base, "/api/v1/gates")
        assert (state["gate_id"], state["staffed"], state["source"]) == (GATE, True, "api")
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-checked-in.png")

        await gate.get_by_role("button", name="离岗签退").click()
        await expect(gate).to_have_attribute("data-staffed", "false")
        await expect(gate.locator(".state")).to_have_text("无人在岗 · 已空岗 0 分钟")
        await expect(gate.locator(".feedback")).to_have_text("北门 离岗签退成功")
        (state,) = await api_get(site.base, "/api/v1/gates")
        assert (state["staffed"], state["source"]) == (False, "api")


def re_clock(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}\d\d:\d\d$")


async def test_a_photo_taken_offline_is_sent_when_the_network_is_back(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    photo = tmp_path / "dorm.jpg"
    photo.write_bytes(
        render_qr_photo(sign_tag(settings.patrol, SCHOOL, CHECKPOINT), TYPICAL, seed=5)
    )
    async with guard_site(tmp_path) as site:
        page = site.page
        await sign_in(page, site.base)
        await page.context.set_offline(True)
        await page.locator("#photo").set_input_files(str(photo))
        await expect(page.locator("#result")).to_have_attribute("data-outcome", "queued")
        await expect(page.locator("#result-title")).to_have_text(
            "网络不通，已保存在手机上，联网后自动上传"
        )
        await expect(page.locator("#offline")).to_be_visible()
        await expect(page.locator("#pending")).to_have_text("待上传 1 条")
        await expect(page.locator("#records li.pending")).to_have_count(1)
        await screenshot(page, "guard-offline-kept.png")
        back_online = datetime.now().astimezone()

        await page.context.set_offline(False)
        await expect(page.locator("#result-title")).to_have_text("已补传 1 条记录", timeout=15_000)
        await expect(page.locator("#pending")).to_be_hidden()
        await expect(dorm_card(page).locator(".count")).to_have_text("今日 1/5 次")
        await expect(page.locator("#records li.accepted")).to_have_count(1)
        await expect(page.locator("#records li.pending")).to_have_count(0)

        # It counts at the time the photo was taken, not when it reached the gateway.
        (scan,) = await api_get(site.base, "/api/v1/patrols/scans")
        scanned = datetime.fromisoformat(scan["scanned_at"])
        received = datetime.fromisoformat(scan["received_at"])
        assert (scan["source"], scan["accepted"]) == ("photo", True)
        assert scanned < back_online <= received


async def test_the_page_speaks_english_and_refuses_a_wrong_password(tmp_path: Path) -> None:
    async with guard_site(tmp_path) as site:
        page = site.page
        await page.goto(f"{site.base}/guard?lang=en")
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await fill_sign_in(page, GUARD, "wrong-password", lang="en")
        await expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        await assert_fits_the_width(page)
        await screenshot(page, "guard-en-refused.png")

        # An officer's account is not a guard's: the page says so (403), and offers to sign out.
        async with page.expect_response(lambda r: r.url.endswith("/guard?lang=en")) as answer:
            await fill_sign_in(page, "officer", PASSWORD, lang="en")
        assert (await answer.value).status == 403
        await expect(page.get_by_role("alert")).to_have_text(
            "A police account cannot use this page."
        )
        await expect(page.locator("#app")).to_have_count(0)
        await sign_out(page, lang="en")

        await page.goto(f"{site.base}/guard?lang=en")
        await fill_sign_in(page, GUARD, PASSWORD, lang="en")
        await expect(page).to_have_url(f"{site.base}/guard?lang=en")
        await expect(
            page.get_by_role("heading", name="Guard patrol · Campus security")
        ).to_be_visible()
        await expect(page.locator("#who")).to_have_text("guard-li · guard")
        await expect(dorm_card(page).locator(".count")).to_have_text("Today 0/5")
        await expect(page.get_by_role("button", name="Scan checkpoint")).to_be_visible()
        await expect(page.get_by_role("button", name="Check in")).to_be_visible()
        await expect(page.locator("#records")).to_have_text("No scans today yet")
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-en.png")


async def test_a_scan_kept_offline_waits_for_the_guard_through_signing_out(
    tmp_path: Path,
) -> None:
    """The queue is kept on the phone under the guard's name: signing out (or the session
    ending) does not lose it, and it goes up when he is signed in again and online."""
    settings = settings_for(tmp_path)
    photo = tmp_path / "dorm.jpg"
    photo.write_bytes(
        render_qr_photo(sign_tag(settings.patrol, SCHOOL, CHECKPOINT), TYPICAL, seed=7)
    )
    async with guard_site(tmp_path) as site:
        page = site.page
        await sign_in(page, site.base)
        await page.context.set_offline(True)
        await page.locator("#photo").set_input_files(str(photo))
        await expect(page.locator("#pending")).to_have_text("待上传 1 条")
        kept = await page.evaluate(
            f"JSON.parse(localStorage.getItem('campus-guard-queue:{GUARD}'))"
        )
        assert [item["kind"] for item in kept] == ["photo"], kept
        assert not await page.evaluate("Object.keys(sessionStorage)")  # no token kept anywhere
        await page.context.clear_cookies()  # the session is gone (expired, say) meanwhile
        await page.context.set_offline(False)  # back online, the page tries to send it
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)  # and is sent to sign in again
        await expect(page).to_have_url(re.compile(r"next=%2Fguard"))
        await fill_sign_in(page, GUARD, PASSWORD)
        await expect(page).to_have_url(f"{site.base}/guard")
        await expect(page.locator("#result-title")).to_have_text("已补传 1 条记录", timeout=15_000)
        await expect(dorm_card(page).locator(".count")).to_have_text("今日 1/5 次")
        await expect(page.locator("#pending")).to_be_hidden()
        assert await page.evaluate(f"localStorage.getItem('campus-guard-queue:{GUARD}')") == "[]"

        await sign_out(page)
        await page.go_back()  # the page from the browser's history: not without a session
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)
        await page.goto(f"{site.base}/guard")
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)


# Headless Chromium has no Web NFC: a stand-in for the phone's NFC reader, which the test
# makes read a tag. Everything past the reader (the page, the gateway) is the real thing.
FAKE_NFC = """
window.NDEFReader = class extends EventTarget {
  async scan(options) { window.nfcReader = this; this.signal = options && options.signal; }
};
window.touchTag = (text) => {
  const event = new Event("reading");
  event.message = { records: [
    { recordType: "url", data: new TextEncoder().encode("https://example.org") },
    { recordType: "text", encoding: "utf-8", data: new TextEncoder().encode(text) },
  ] };
  window.nfcReader.dispatchEvent(event);
};
"""


async def test_an_nfc_tag_is_recorded_and_a_second_touch_is_a_duplicate(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    tag = sign_tag(settings.patrol, SCHOOL, CHECKPOINT)
    async with guard_site(tmp_path) as site:
        page = site.page
        await page.add_init_script(FAKE_NFC)
        await sign_in(page, site.base)
        nfc = page.get_by_role("button", name="NFC 扫描")
        await nfc.click()
        await expect(page.locator("#result-title")).to_have_text("请把手机贴近巡查点的 NFC 标签")
        await page.evaluate("tag => window.touchTag(tag)", tag)
        await expect(page.locator("#result-title")).to_have_text("宿舍楼 巡查已记录 (1/5)")
        await expect(dorm_card(page).locator(".count")).to_have_text("今日 1/5 次")

        # Touched again at once: kept as a suspicious scan, and said so.
        await nfc.click()
        await page.evaluate("tag => window.touchTag(tag)", tag)
        await expect(page.locator("#result")).to_have_attribute("data-outcome", "refused")
        await expect(page.locator("#result-title")).to_have_text("巡查未计入：重复扫码")
        await expect(page.locator("#records li")).to_have_count(2)
        await expect(page.locator("#records li").first).to_have_attribute(
            "data-reason", "duplicate"
        )
        await assert_fits_a_phone(page)
        await screenshot(page, "guard-nfc-duplicate.png")

        scans = await api_get(site.base, "/api/v1/patrols/scans")
        assert [(s["source"], s["accepted"], s["reason"]) for s in scans] == [
            ("nfc", True, None),
            ("nfc", False, "duplicate"),
        ]
