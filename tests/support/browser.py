"""The system Chromium for browser tests (Playwright drives it; it never downloads one), the
gateway served over real HTTP for it, and signing in and out on its pages the way a person
does (the sign-in page, a session cookie)."""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, ViewportSize, expect

from tests.support.services import free_port, missing

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# The sign-in page's words (gateway/web/templates/login.html): username, password, the button.
SIGN_IN_WORDS = {"zh": ("用户名", "密码", "登录"), "en": ("Username", "Password", "Sign in")}
SIGN_OUT_WORDS = {"zh": "退出", "en": "Sign out"}
ON_SIGN_IN_PAGE = re.compile(r"/login\?")
# A phone in portrait (an iPhone 12-15's CSS size), for the flows of police and inspectors.
PHONE: ViewportSize = {"width": 390, "height": 844}


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path is not None:
            return path
    missing("Chromium", "apt-get install chromium")
    raise AssertionError("unreachable")


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app (with its lifespan) on a free port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve(), name="test-http")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("the server stopped before it started")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait({task}, timeout=15)


async def fill_sign_in(page: Page, username: str, password: str, *, lang: str = "zh") -> None:
    """On the sign-in page: type the account and press the button."""
    user_label, password_label, button = SIGN_IN_WORDS[lang]
    await page.get_by_label(user_label).fill(username)
    await page.get_by_label(password_label).fill(password)
    await page.get_by_role("button", name=button, exact=True).click()


async def sign_in(
    page: Page, base: str, path: str, username: str, password: str, *, lang: str = "zh"
) -> None:
    """Open a page signed out: sent to the sign-in page, which sends the reader back to it."""
    await page.goto(f"{base}{path}")
    await expect(page).to_have_url(ON_SIGN_IN_PAGE)
    await fill_sign_in(page, username, password, lang=lang)
    await expect(page).to_have_url(f"{base}{path}")


async def sign_out(page: Page, *, lang: str = "zh") -> None:
    """The account bar's sign-out button: the session ends, the sign-in page comes back."""
    await page.get_by_role("button", name=SIGN_OUT_WORDS[lang], exact=True).click()
    await expect(page).to_have_url(ON_SIGN_IN_PAGE)


async def phone_page(
    browser: Browser, *, zone: str = "Asia/Shanghai", accept_downloads: bool = False
) -> Page:
    """A page in a new browser context that behaves as a phone: its size, touch, zh-CN."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id=zone,
        accept_downloads=accept_downloads,
    )
    return await context.new_page()


async def assert_fits_the_width(page: Page, what: str = "the page") -> None:
    """No scrolling sideways: nothing is wider than the phone's screen."""
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"{what} is {width} px wide"


async def screenshot(page: Page, name: str) -> None:
    """The whole page, kept in test-artifacts/ for a person to look at after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / name), full_page=True)
