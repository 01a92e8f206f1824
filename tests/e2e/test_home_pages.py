"""Each role's home page on a phone (390x844, touch) in headless Chromium (the system one,
driven by Playwright): a guard, an officer, an inspector and an admin each open the site's
address, sign in, land on their own home page with its links and today's figures, follow the
first link to their work, and sign out. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from gateway.app import create_app
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from tests.support.browser import (
    ARTIFACTS,
    ON_SIGN_IN_PAGE,
    assert_fits_the_width,
    chromium_path,
    fill_sign_in,
    phone_page,
    screenshot,
    served,
    sign_out,
)
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
PASSWORD = "home-password-1"
# username -> (role, school, the tiles of its home page, where its first tile leads)
ACCOUNTS: dict[str, tuple[Role, str | None, list[str], str]] = {
    "guard-li": (Role.GUARD, "fy-dongguan-ms", ["guard"], "/guard"),
    "officer": (Role.POLICE, None, ["police", "calendar", "tests", "report"], "/police"),
    "duban": (Role.INSPECTOR, None, ["calendar", "tests", "report", "audit"], "/inspector"),
    "root": (
        Role.ADMIN,
        None,
        ["guard", "police", "calendar", "tests", "report", "audit"],
        "/guard",
    ),
}
FIGURES = {"guard", "police", "tests"}  # the tiles with a figure of today


def settings_for(broker: MosquittoBroker, tmp_path: Path, police: str) -> Settings:
    return parse_settings(
        site_tree(
            mqtt_url=broker.url,
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}",
            database_schema=None,
            police_urls={"110": police},
        )
    )


async def test_each_role_lands_on_its_own_home_page(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    executable = chromium_path()
    async with police_centre() as centre:
        settings = settings_for(mosquitto, tmp_path, centre.url)
        for username, (role, school, _, _) in ACCOUNTS.items():
            await add_user(
                settings, role=role, username=username, password=PASSWORD, school_id=school
            )
        async with served(create_app(settings)) as base, async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=executable, args=["--no-sandbox"]
            )
            try:
                for username, (_, _, tiles, first) in ACCOUNTS.items():
                    page = await phone_page(browser)
                    await page.goto(f"{base}/")
                    await expect(page).to_have_url(ON_SIGN_IN_PAGE)
                    await assert_fits_the_width(page, "the sign-in page")
                    if username == "guard-li":
                        ARTIFACTS.mkdir(exist_ok=True)
                        await page.screenshot(path=str(ARTIFACTS / "sign-in-phone.png"))
                    await fill_sign_in(page, username, PASSWORD)
                    await expect(page).to_have_url(f"{base}/")
                    await expect(page.get_by_role("heading", level=2)).to_have_text(
                        f"{username}，您好"
                    )
                    links = page.locator("a.tile")
                    await expect(links).to_have_count(len(tiles))
                    ids = [await link.get_attribute("id") for link in await links.all()]
                    assert ids == [f"tile-{tile}" for tile in tiles]
                    # Every figure under a tile is read, none is left loading or failed.
                    for tile in tiles:
                        if tile not in FIGURES:
                            continue
                        figure = page.locator(f'[data-figure="{tile}"]')
                        await expect(figure).not_to_have_text(re.compile(r"^$|正在读取|暂时读不到"))
                    if "guard" in tiles:  # nothing at the gate has reported: not "staffed"
                        await expect(page.locator('[data-figure="guard"]')).to_contain_text(
                            re.compile(r"\d 个门岗还没有值守数据")
                        )
                    await assert_fits_the_width(page, f"{username}'s home")
                    await screenshot(page, f"home-{username}-phone.png")
                    await links.first.tap()
                    await expect(page).to_have_url(re.compile(rf"{re.escape(base + first)}\b"))
                    await page.get_by_role("link", name="首页").tap()
                    await expect(page).to_have_url(re.compile(rf"{re.escape(base)}/\?lang=zh$"))
                    await sign_out(page)
                    await page.context.close()
            finally:
                await browser.close()
