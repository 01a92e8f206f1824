"""Issue 7: what an account may change is what it may see. Acting on a record of a school
outside its scope by the record's id (an alarm, a test notice, a hidden-danger ticket) is 404
as for an id that does not exist; naming such a school (a new notice, a training, a
check-in) is 403; and either way nothing is written (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.domain import Role
from gateway.storage.models import Alarm, AlarmAction, GuardTraining, HazardTicket
from gateway.storage.models import TestNotice as Notice  # not "Test…": pytest would collect it
from tests.support.scoping import (
    ACCOUNTS,
    BUTTON,
    GATE,
    SCHOOLS,
    Account,
    ScopedSite,
    guard_of,
    scoped_site,
)

TESTERS = {"police_officer": "张警官", "bureau_staff": "李老师"}


@pytest.fixture
async def site(engine: AsyncEngine) -> AsyncIterator[ScopedSite]:
    async with scoped_site(engine) as scoped:
        yield scoped


def may(account: Account, *roles: Role) -> bool:
    return account.role is Role.ADMIN or account.role in roles


async def _writes(site: ScopedSite, account: Account, school: str) -> dict[str, httpx.Response]:
    """Every write the account's role may make, on `school`'s records."""
    client, headers = site.client, await site.headers(account.username)
    today = datetime.now(UTC).astimezone(site.context.settings.gateway.zone).date()
    done: dict[str, httpx.Response] = {}
    if may(account, Role.POLICE):
        done["alarm action"] = await client.post(
            f"/api/v1/alarms/{site.emergencies[school]}/actions",
            headers=headers,
            json={"stage": "acknowledged"},
        )
    if may(account, Role.POLICE, Role.INSPECTOR):
        done["hazard step"] = await client.post(
            f"/api/v1/hazards/{site.tickets[school]}/steps",
            headers=headers,
            json={"stage": "assessed"},
        )
        done["open notice"] = await client.post(
            "/api/v1/alarm-tests/notices",
            headers=headers,
            json={"school": school, "button": BUTTON, **TESTERS},
        )
        done["cancel notice"] = await client.post(
            f"/api/v1/alarm-tests/notices/{site.notices[school]}/cancel", headers=headers
        )
        done["testers"] = await client.put(
            f"/api/v1/alarm-tests/{site.tests[school]}/testers", headers=headers, json=TESTERS
        )
        done["training"] = await client.post(
            f"/api/v1/guards/{school}/{guard_of(school)}/trainings",
            headers=headers,
            json={"date": today.isoformat(), "topic": "防暴器械使用"},
        )
    if may(account, Role.GUARD):
        done["check-in"] = await client.post(
            f"/api/v1/gates/{school}/{GATE}/check-in", headers=headers
        )
    return done


# Outside the scope: a record found by its id is not found; a school named is forbidden.
REFUSAL = {
    "alarm action": 404,
    "hazard step": 404,
    "cancel notice": 404,
    "testers": 404,
    "open notice": 403,
    "training": 403,
    "check-in": 403,
}


async def _written(site: ScopedSite, school: str) -> dict[str, int]:
    """What the writes left at `school`."""
    async with site.context.sessions() as session:

        async def count(query: object) -> int:
            return int(await session.scalar(query) or 0)  # type: ignore[call-overload]

        return {
            "alarm actions": await count(
                select(func.count())
                .select_from(AlarmAction)
                .join(Alarm, Alarm.id == AlarmAction.alarm_pk)
                .where(Alarm.school_id == school)
            ),
            "tickets moved": await count(
                select(func.count())
                .select_from(HazardTicket)
                .where(HazardTicket.school_id == school, HazardTicket.stage != "found")
            ),
            "notices": await count(
                select(func.count()).select_from(Notice).where(Notice.school_id == school)
            ),
            "notices cancelled": await count(
                select(func.count())
                .select_from(Notice)
                .where(Notice.school_id == school, Notice.cancelled_at.is_not(None))
            ),
            "trainings": await count(
                select(func.count())
                .select_from(GuardTraining)
                .where(GuardTraining.school_id == school)
            ),
        }


@pytest.mark.parametrize("account", ACCOUNTS, ids=lambda account: account.username)
async def test_an_account_changes_the_records_of_its_schools_only(
    site: ScopedSite, account: Account
) -> None:
    for school in SCHOOLS:
        before = await _written(site, school)
        done = await _writes(site, account, school)
        assert done, account.username
        after = await _written(site, school)
        for write, response in done.items():
            if school in account.sees:
                assert response.status_code in (200, 201), (write, school, response.text)
            else:
                assert response.status_code == REFUSAL[write], (write, school, response.text)
                if response.status_code == 404:
                    # Worded as for an id that does not exist: nothing tells it is there.
                    assert response.json()["detail"].startswith("no "), response.text
        if school not in account.sees:
            assert after == before, (account.username, school)
        elif may(account, Role.POLICE, Role.INSPECTOR):
            assert after != before, (account.username, school)


async def test_an_unknown_id_and_another_school_s_record_answer_alike(site: ScopedSite) -> None:
    headers = await site.headers("police-a")
    other = await site.client.post(
        f"/api/v1/hazards/{site.tickets['b-east']}/steps",
        headers=headers,
        json={"stage": "assessed"},
    )
    missing = await site.client.post(
        "/api/v1/hazards/no-such-ticket/steps", headers=headers, json={"stage": "assessed"}
    )
    assert other.status_code == missing.status_code == 404
    assert other.json()["detail"].replace(site.tickets["b-east"], "X") == missing.json()[
        "detail"
    ].replace("no-such-ticket", "X")
