"""The inspector's page on a phone (390x844, touch) in headless Chromium (the system one,
driven by Playwright), against the real gateway with a seeded month
(tests/support/inspection.py): signing in on the sign-in page, the compliance calendar, filing
an alarm-test notice, downloading the month's report, verifying the log; a session that ends
while the page is open sends the inspector to sign in and back to the same tab; signing out
leaves the page to the sign-in page, even from the browser's history. The page never scrolls
sideways. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.support.browser import (
    ARTIFACTS,
    ON_SIGN_IN_PAGE,
    assert_fits_the_width,
    fill_sign_in,
    phone_page,
    screenshot,
    sign_out,
)
from tests.support.inspection import (
    BROWSER_ZONE,
    INSPECTOR,
    PASSWORD,
    SCHOOL,
    UNTESTED,
    api_get,
    inspection_site,
    open_tab,
    sign_in,
)
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto


async def test_an_inspector_works_through_the_month_on_a_phone(
    mosquitto: MosquittoBroker, postgres_database: tuple[str, str | None], tmp_path: Path
) -> None:
    async with inspection_site(mosquitto, postgres_database) as site:
        page = await phone_page(site.browser, zone=BROWSER_ZONE, accept_downloads=True)
        await sign_in(page, site.base)

        # The compliance calendar, the page's first tab.
        yesterday = site.seeded.yesterday
        await expect(page.get_by_role("tab", name="合规日历")).to_have_attribute(
            "aria-selected", "true"
        )
        if f"{yesterday:%Y-%m}" != f"{site.seeded.today:%Y-%m}":
            await page.locator("#cal-month").fill(f"{yesterday:%Y-%m}")  # the 1st of a month
        table = page.locator("#cal-table")
        await expect(table.locator("tbody tr")).to_have_count(2)
        cell = table.locator(f'tr[data-school="{SCHOOL}"] button.cell[data-date="{yesterday}"]')
        await expect(cell).to_have_attribute("data-level", "full")
        await cell.tap()
        await expect(page.locator("#cal-detail")).to_contain_text("达标比例100%")
        await assert_fits_the_width(page)
        await screenshot(page, "inspector-phone-calendar.png")

        # The alarm tests: a notice for the untested button, filed from its card.
        await open_tab(page, "设备测试")
        button_card = page.locator(f'#tests-list .button-card[data-button="{UNTESTED}"]')
        await expect(button_card).to_contain_text("本月未测试")
        await button_card.get_by_role("button", name="报备测试").tap()
        dialog = page.locator("#notice-dialog")
        await expect(dialog).to_be_visible()
        await dialog.get_by_label("测试窗口（分钟）").fill("30")
        await dialog.get_by_label("民警姓名").fill("赵警官")
        await dialog.get_by_label("教育部门人员姓名").fill("钱老师")
        await assert_fits_the_width(page)
        # The dialog covers the screen, not the whole page: the screen is what is shown.
        await page.screenshot(path=str(ARTIFACTS / "inspector-phone-notice-form.png"))
        csrf = await page.locator('meta[name="csrf-token"]').get_attribute("content")
        async with page.expect_request(
            lambda r: r.method == "POST" and r.url.endswith("/alarm-tests/notices")
        ) as sent:
            await dialog.get_by_role("button", name="提交报备").tap()
        assert csrf and (await sent.value).headers.get("x-csrf-token") == csrf
        await expect(dialog).to_be_hidden()
        await expect(page.locator("#notice-done")).to_contain_text(
            "已报备 汾阳市实验幼儿园 · 大门传达室"
        )
        notices = page.locator("#notices-list .notice-card")
        await expect(notices).to_have_count(1)
        await expect(notices).to_contain_text(
            "民警：赵警官 · 教育部门：钱老师 · 报备人：duban-wang"
        )
        (notice,) = [
            n for n in await api_get(site, "/api/v1/alarm-tests/notices") if n["state"] == "open"
        ]
        assert (notice["button_id"], notice["opened_by"]) == (UNTESTED, INSPECTOR)
        await assert_fits_the_width(page)
        await screenshot(page, "inspector-phone-notice-filed.png")

        # The month's report: the summary, and a download (the page offers XLSX, PDF, CSV).
        await open_tab(page, "月报")
        month = await page.locator("#report-month").input_value()
        await expect(page.locator("#report-table tbody tr")).to_have_count(2)
        async with page.expect_download() as waiting:
            await page.get_by_role("button", name="下载 Excel").tap()
        download = await waiting.value
        assert download.suggested_filename == f"campus-report-{month}.xlsx"
        saved = tmp_path / download.suggested_filename
        await download.save_as(saved)
        assert saved.read_bytes().startswith(b"PK")  # a workbook is a zip
        await expect(page.locator("#report-status")).to_have_text(
            f"已下载 campus-report-{month}.xlsx"
        )
        await assert_fits_the_width(page)
        await screenshot(page, "inspector-phone-report.png")

        # Log verification.
        await open_tab(page, "日志校验")
        async with page.expect_response(lambda r: "/api/v1/audit/verify" in r.url) as answer:
            await page.get_by_role("button", name="校验日志").tap()
        assert (await answer.value).status == 200
        result = page.locator("#audit-result")
        await expect(result).to_have_attribute("data-ok", "true")
        await expect(result.locator(".verdict")).to_have_text("✓ 日志完整，未被篡改")
        await assert_fits_the_width(page)
        await screenshot(page, "inspector-phone-audit.png")

        # The session ends while the page is open (expired, say): the next thing the page
        # asks the gateway sends the inspector to sign in, and back to the tab he was on.
        await page.context.clear_cookies()
        await page.get_by_role("tab", name="设备测试").tap()
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)
        await expect(page).to_have_url(re.compile(r"next=%2Finspector%23tests(&|$)"))
        await fill_sign_in(page, INSPECTOR, PASSWORD)
        await expect(page).to_have_url(f"{site.base}/inspector#tests")
        await expect(page.get_by_role("tab", name="设备测试")).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(page.locator("#notices-list .notice-card")).to_have_count(1)

        await sign_out(page)
        await page.go_back()  # the page from the browser's history
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)
        await page.goto(f"{site.base}/inspector#report")
        await expect(page).to_have_url(ON_SIGN_IN_PAGE)
