"""Issue 7: a guard sees his school, police the schools of their station, inspectors their
district, admins and city-level accounts everything, in every list, judgement and report of
the API and in the live feed; naming another school is 403 (both databases). The site and
its accounts: tests/support/scoping.py."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.api.live import FeedAccess, live
from gateway.auth.tokens import Principal
from gateway.domain import Role
from gateway.storage.users import UserRepository
from tests.support.scoping import (
    ACCOUNTS,
    ALL,
    BY_NAME,
    SCHOOLS,
    ScopedSite,
    schools_in,
    scoped_site,
)

# (path, the key naming the school in each item, the roles it is for besides admin)
EVERYONE = frozenset({Role.GUARD, Role.POLICE, Role.INSPECTOR})
OFFICIALS = frozenset({Role.POLICE, Role.INSPECTOR})
LISTS = (
    ("/api/v1/alarms", "school_id", EVERYONE),
    ("/api/v1/alarm-tests/notices", "school_id", EVERYONE),
    ("/api/v1/alarm-tests/due", "school_id", EVERYONE),
    ("/api/v1/hazards", "school_id", EVERYONE),
    ("/api/v1/patrols/due", "school_id", EVERYONE),
    ("/api/v1/gates", "school_id", EVERYONE),
    ("/api/v1/schools", "id", EVERYONE),
    ("/api/v1/compliance/gate-staffing", "school_id", EVERYONE),
    ("/api/v1/compliance/patrols", "school_id", EVERYONE),
    ("/api/v1/compliance/alarm-tests", "school_id", EVERYONE),
    ("/api/v1/compliance/guards", "school_id", EVERYONE),
    ("/api/v1/compliance/calendar", "school", EVERYONE),
    ("/api/v1/compliance/ratings", "school", OFFICIALS),
)
FILTERED = [path for path, _, _ in LISTS if path != "/api/v1/schools"]


@pytest.fixture
async def site(engine: AsyncEngine) -> AsyncIterator[ScopedSite]:
    async with scoped_site(engine) as scoped:
        yield scoped


def test_the_site_crosses_stations_and_districts() -> None:
    # Each scoped account sees two schools, and no station's pair is a district's.
    scoped = [a.sees for a in ACCOUNTS if a.role in OFFICIALS and a.sees != ALL]
    assert len(scoped) == 4 and all(len(sees) == 2 for sees in scoped)
    assert len(set(scoped)) == 4


async def test_every_list_shows_the_schools_of_the_account_only(site: ScopedSite) -> None:
    scan_day = site.scan_day.isoformat()
    for account in ACCOUNTS:
        headers = await site.headers(account.username)
        for path, key, roles in [*LISTS, ("/api/v1/patrols/scans", "school_id", EVERYONE)]:
            if account.role is not Role.ADMIN and account.role not in roles:
                continue
            params = {"date": scan_day} if path.endswith("/scans") else {}
            response = await site.client.get(path, headers=headers, params=params)
            assert response.status_code == 200, (account.username, path, response.text)
            assert schools_in(response.json(), key) == account.sees, (account.username, path)


async def test_naming_a_school_outside_the_scope_is_403(site: ScopedSite) -> None:
    for account in ACCOUNTS:
        headers = await site.headers(account.username)
        for path, key, roles in LISTS:
            if path not in FILTERED or (
                account.role is not Role.ADMIN and account.role not in roles
            ):
                continue
            for school in SCHOOLS:
                response = await site.client.get(path, headers=headers, params={"school": school})
                if school in account.sees:
                    assert response.status_code == 200, (account.username, path, school)
                    assert schools_in(response.json(), key) == {school}, (path, school)
                else:
                    assert response.status_code == 403, (account.username, path, school)
                    assert f"may not see school {school!r}" in response.json()["detail"]
        for school in SCHOOLS:
            trainings = await site.client.get(
                f"/api/v1/guards/{school}/guard-{school}/trainings", headers=headers
            )
            assert trainings.status_code == (200 if school in account.sees else 403), (
                account.username,
                school,
            )


async def test_the_monthly_report_covers_the_visible_schools_only(site: ScopedSite) -> None:
    for account in ACCOUNTS:
        if account.role is Role.GUARD:
            continue
        headers = await site.headers(account.username)
        response = await site.client.get("/api/v1/reports/monthly", headers=headers)
        assert response.status_code == 200, response.text
        report = response.json()
        assert schools_in(report["schools"]) == account.sees, account.username
        districts = {SCHOOLS[school][1] for school in account.sees}
        assert {area["district"] for area in report["districts"]} == districts
        assert sum(area["schools"] for area in report["districts"]) == len(account.sees)
        assert report["total"]["schools"] == len(account.sees)
        # A report of some schools names its total 合计, never 全市 (the city's).
        partial = account.sees != ALL
        assert report["partial"] is partial, account.username
        total_name = "合计" if partial else "全市"
        exported = await site.client.get(
            "/api/v1/reports/monthly", headers=headers, params={"format": "xlsx"}
        )
        assert exported.status_code == 200, account.username
        sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
        labels = {str(cell.value) for row in sheet.iter_rows() for cell in row[:1]}
        assert total_name in labels and ({"合计", "全市"} - {total_name}).isdisjoint(labels)
        exported = await site.client.get(
            "/api/v1/reports/monthly", headers=headers, params={"format": "pdf"}
        )
        assert exported.status_code == 200, account.username
        text = "".join(
            page.extract_text() for page in PdfReader(io.BytesIO(exported.content)).pages
        )
        assert f"一、{total_name}及各区县" in text, account.username
        exported = await site.client.get(
            "/api/v1/reports/monthly", headers=headers, params={"format": "csv"}
        )
        rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        named = {
            school for school in SCHOOLS if any(school in cell for row in rows for cell in row)
        }
        assert named == account.sees, account.username
        assert rows[1][0] == total_name, (account.username, rows[1])


async def test_me_tells_the_scope(site: ScopedSite) -> None:
    for account in ACCOUNTS:
        me = await site.client.get("/api/v1/auth/me", headers=await site.headers(account.username))
        body = me.json()
        assert (body["station"], body["district"]) == (
            account.scope.station,
            account.scope.district,
        )
        expected = None if account.sees == ALL and account.role is not Role.GUARD else account.sees
        assert (None if body["schools"] is None else set(body["schools"])) == expected


async def test_a_token_is_refused_once_the_account_scope_changed(site: ScopedSite) -> None:
    headers = await site.headers("police-a")
    async with site.context.sessions() as session:
        user = await UserRepository(session).get_by_username("police-a")
        user.station = "station-b"  # through the ORM: the audit log records the change
        await session.commit()
    response = await site.client.get("/api/v1/alarms", headers=headers)
    assert response.status_code == 401
    assert "sign in again" in response.json()["detail"]


async def _feed(site: ScopedSite, username: str) -> set[str]:
    """The schools of the notices the live feed sends the account, of one notice of each
    kind per school, and of one that names no school (only unscoped feeds get it)."""
    headers = await site.headers(username)
    me = (await site.client.get("/api/v1/auth/me", headers=headers)).json()
    principal = Principal(
        username=username,
        role=Role(me["role"]),
        school_id=me["school_id"],
        expires_at=None,  # type: ignore[arg-type]  # not read by the feed
        station=me["station"],
        district=me["district"],
    )
    token = headers["Authorization"].removeprefix("Bearer ")
    stream = live(site.context, FeedAccess(principal, session_token=None, access_token=token))
    ready = await anext(stream)
    assert ready.event == "ready"
    bus = site.context.bus
    for school in SCHOOLS:
        bus.publish("alarm", {"school_id": school, "device_id": "btn", "kind": "press"})
        bus.publish("alarm_action", {"alarm_id": site.emergencies[school], "school_id": school})
        snapshot = {"alarm_id": site.emergencies[school], "school_id": school, "camera_id": "c"}
        bus.publish("snapshot", snapshot)
        bus.publish("escalation", {"alarm_id": site.tests[school], "school_id": school})
    bus.publish("snapshot", {"alarm_id": "no-such-alarm", "camera_id": "cam"})
    end = sorted(BY_NAME[username].sees)[0]
    bus.publish("alarm", {"school_id": end, "device_id": "end", "kind": "press"})
    seen: list[tuple[str, str]] = []
    async with asyncio.timeout(10):
        async for sent in stream:
            data = sent.data
            assert isinstance(data, dict)
            if data.get("device_id") == "end":
                break
            alarm_id = data.get("alarm_id")
            school = data.get("school_id") or next(
                (s for s, a in site.emergencies.items() if a == alarm_id), "unknown"
            )
            seen.append((str(sent.event), school))
    await stream.aclose()
    assert len(seen) == 4 * len(BY_NAME[username].sees) + (len(ALL) == len(BY_NAME[username].sees))
    return {school for _, school in seen}


@pytest.mark.parametrize("username", ["police-a", "police-b", "police-city", "admin"])
async def test_the_live_feed_sends_the_visible_schools_only(
    site: ScopedSite, username: str
) -> None:
    expected = set(BY_NAME[username].sees)
    if expected == ALL:
        expected.add("unknown")  # a city-level feed also gets what names no school
    assert await _feed(site, username) == expected
