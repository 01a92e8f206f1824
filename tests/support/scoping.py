"""A site of four schools over two police stations and two districts, crossed so that no
station's schools are a district's, with records at every school and one account of each
scope: what the scoping tests (tests/integration/test_scoping*.py) read and act on.

    school   police_station   district
    a-east   station-a        east
    a-west   station-a        west
    b-east   station-b        east
    b-west   station-b        west
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.passwords import hash_password
from gateway.commands.users import AccountScope, store_account
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.models import Alarm, TestNotice
from tests.support.context import api_client, bearer, gateway_context
from tests.support.report_records import alarm, scans, ticket
from tests.support.site import PATROL_KEY

PASSWORD = "scoping-password-1"
SCHOOLS = {  # id -> (police station, district)
    "a-east": ("station-a", "east"),
    "a-west": ("station-a", "west"),
    "b-east": ("station-b", "east"),
    "b-west": ("station-b", "west"),
}
ALL = frozenset(SCHOOLS)
BUTTON, GATE, CHECKPOINT = "btn", "gate", "cp"


def guard_of(school: str) -> str:
    return f"guard-{school}"


SITE: Settings = parse_settings(
    {
        "gateway": {"timezone": "Asia/Shanghai"},
        "patrol": {"keys": {1: PATROL_KEY}},
        "schools": [
            {
                "id": school,
                "name": f"学校{school}",
                "police_station": station,
                "district": district,
                "day_pupils": 100,
                "alarm_buttons": [{"id": BUTTON, "location": "门卫室", "zone": 1}],
                "gates": [{"id": GATE, "name": "大门"}],
                "checkpoints": [{"id": CHECKPOINT, "name": "宿舍楼", "key_area": True}],
                "guards": [{"id": guard_of(school), "name": "保安"}],
            }
            for school, (station, district) in SCHOOLS.items()
        ],
    }
)


@dataclass(frozen=True, slots=True)
class Account:
    username: str
    role: Role
    scope: AccountScope
    sees: frozenset[str]


def _seeing(predicate: object) -> frozenset[str]:
    return frozenset(
        s for s, (station, district) in SCHOOLS.items() if predicate in (s, station, district)
    )


ACCOUNTS = (
    Account("admin", Role.ADMIN, AccountScope(), ALL),
    Account("police-city", Role.POLICE, AccountScope(), ALL),
    Account("police-a", Role.POLICE, AccountScope(station="station-a"), _seeing("station-a")),
    Account("police-b", Role.POLICE, AccountScope(station="station-b"), _seeing("station-b")),
    Account("inspector-city", Role.INSPECTOR, AccountScope(), ALL),
    Account("inspector-east", Role.INSPECTOR, AccountScope(district="east"), _seeing("east")),
    Account("inspector-west", Role.INSPECTOR, AccountScope(district="west"), _seeing("west")),
    Account("guard-a-east", Role.GUARD, AccountScope(school_id="a-east"), _seeing("a-east")),
    Account("guard-b-west", Role.GUARD, AccountScope(school_id="b-west"), _seeing("b-west")),
)
BY_NAME = {account.username: account for account in ACCOUNTS}


@cache
def _password_hash() -> str:
    return hash_password(PASSWORD)  # once: argon2 is slow on purpose


@dataclass
class ScopedSite:
    context: GatewayContext
    client: httpx.AsyncClient
    scan_day: date  # the site's local day of every school's patrol scan
    emergencies: dict[str, str] = field(default_factory=dict)  # school -> alarm id
    tests: dict[str, str] = field(default_factory=dict)  # school -> alarm id of a test
    tickets: dict[str, str] = field(default_factory=dict)  # school -> hazard ticket id
    notices: dict[str, str] = field(default_factory=dict)  # school -> test notice id
    _headers: dict[str, dict[str, str]] = field(default_factory=dict)

    async def headers(self, username: str) -> dict[str, str]:
        if username not in self._headers:
            self._headers[username] = await bearer(self.client, username, PASSWORD)
        return self._headers[username]


async def _seed(site: ScopedSite) -> None:
    """At every school: an emergency, a test, a hidden-danger ticket, a patrol scan and a test
    notice, all of this hour."""
    context = site.context
    now = datetime.now(UTC)
    scanned_at = now - timedelta(minutes=1)
    site.scan_day = scanned_at.astimezone(context.settings.gateway.zone).date()
    for school in SCHOOLS:
        await alarm(context, school, BUTTON, now - timedelta(minutes=30))
        await alarm(context, school, BUTTON, now - timedelta(minutes=20), test=True)
        site.tickets[school] = await ticket(context, school, GATE, now - timedelta(hours=1))
        await scans(context, school, CHECKPOINT, [scanned_at], guard_id=guard_of(school))
    async with context.sessions() as session:
        for row in await session.execute(select(Alarm.school_id, Alarm.kind, Alarm.alarm_id)):
            (site.tests if row.kind == "test" else site.emergencies)[row.school_id] = row.alarm_id
        for school in SCHOOLS:
            notice = TestNotice(
                notice_id=f"tn-{uuid.uuid4().hex[:20]}",
                school_id=school,
                button_id=BUTTON,
                opened_by="admin",
                opened_at=now,
                window_start=now + timedelta(hours=1),
                window_end=now + timedelta(hours=2),
                police_officer="张警官",
                bureau_staff="李老师",
            )
            session.add(notice)
            site.notices[school] = notice.notice_id
        for account in ACCOUNTS:
            await store_account(
                session, account.username, _password_hash(), account.role, account.scope
            )
        await session.commit()


@asynccontextmanager
async def scoped_site(engine: AsyncEngine) -> AsyncIterator[ScopedSite]:
    async with gateway_context(SITE, engine) as context, api_client(context) as client:
        site = ScopedSite(context, client, scan_day=date.today())
        await _seed(site)
        yield site


def schools_in(body: object, key: str = "school_id") -> set[str]:
    """The schools a list answer names."""
    assert isinstance(body, list), body
    return {item[key] for item in body}
