"""Every answer of the gateway carries the security headers (issue 17, docs/security.md
"Headers"): the signed-in police console must not be framed by a page on another port of
the same host. Checked on the pages (signed in and not), the API, its refusals (401, 404,
422), a static file and the live feed, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from tests.integration.test_rbac_table import (
    PASSWORD,
    POSTGRES_URL,
    Gateway,
    postgres_schema,
    running_gateway,
    settings_for,
)

EXPECTED = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("headers")
        async with running_gateway(
            settings_for(f"sqlite+aiosqlite:///{folder / 'campus.db'}", None)
        ) as gw:
            yield gw
        return
    async with (
        postgres_schema() as schema,
        running_gateway(settings_for(POSTGRES_URL, schema)) as gw,
    ):
        yield gw


def problems_with(response: httpx.Response) -> list[str]:
    found = []
    for name, value in EXPECTED.items():
        if response.headers.get(name) != value:
            found.append(f"{name}: {response.headers.get(name)!r}, not {value!r}")
    policy = response.headers.get("content-security-policy", "")
    directives = {d.strip() for d in policy.split(";")}
    if "frame-ancestors 'none'" not in directives:
        found.append(f"content-security-policy without frame-ancestors 'none': {policy!r}")
    return found


async def sign_in(browser: httpx.AsyncClient) -> None:
    """The police account signed in on the pages: `browser` holds the session cookie."""
    page = await browser.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    answer = await browser.post(
        "/login",
        data={"csrf_token": found.group(1), "username": "police", "password": PASSWORD},
    )
    assert answer.status_code == 303, answer.text[:300]


@pytest.mark.asyncio(loop_scope="module")
async def test_pages_api_refusals_and_files_carry_the_headers(gateway: Gateway) -> None:
    police = {"Authorization": f"Bearer {gateway.tokens['police']}"}
    answers: dict[str, httpx.Response] = {}
    transport = gateway.client._transport
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as browser:
        await sign_in(browser)
        answers["the police console, signed in"] = await browser.get("/police")
    client = gateway.client
    answers["the sign-in page"] = await client.get("/login?lang=en")
    answers["a page, signed out (303)"] = await client.get("/police")
    answers["an API route"] = await client.get("/api/v1/schools", headers=police)
    answers["not signed in (401)"] = await client.get("/api/v1/alarms")
    answers["no such route (404)"] = await client.get("/api/v1/no-such-thing")
    answers["no such alarm (404)"] = await client.get(
        "/api/v1/alarms/nope/snapshot", headers=police
    )
    answers["bad input (422)"] = await client.get("/api/v1/alarms?limit=0", headers=police)
    answers["a static file"] = await client.get("/static/police.js")
    answers["liveness"] = await client.get("/healthz")
    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {
        "the police console, signed in": 200,
        "the sign-in page": 200,
        "a page, signed out (303)": 303,
        "an API route": 200,
        "not signed in (401)": 401,
        "no such route (404)": 404,
        "no such alarm (404)": 404,
        "bad input (422)": 422,
        "a static file": 200,
        "liveness": 200,
    }
    wrong = {what: p for what, response in answers.items() if (p := problems_with(response))}
    assert wrong == {}


@pytest.mark.asyncio(loop_scope="module")
async def test_the_live_feed_carries_the_headers(gateway: Gateway) -> None:
    async with (
        asyncio.timeout(10),
        gateway.client.stream(
            "GET", "/api/v1/live", params={"access_token": gateway.tokens["police"]}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert problems_with(response) == []
