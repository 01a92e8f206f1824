"""Hidden-danger tickets against a real database (SQLite and PostgreSQL): violations open
tickets (one per open subject, repeats counted), people move them through the closed loop
发现—研判—交办—管控—反馈 in order, and overdue ones come first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.hazards.tickets import open_tickets
from gateway.settings import parse_settings
from gateway.storage.models import HazardTicket
from tests.support.context import api_client, bearer, gateway_context

PASSWORD = "hazard-password-1"
SCHOOL = "fy-dongguan-ms"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "inspector": (Role.INSPECTOR, None),
    "officer": (Role.POLICE, None),
    "guard-li": (Role.GUARD, SCHOOL),
}
SITE = parse_settings(
    {
        "schools": [
            {"id": SCHOOL, "name": "东关中学", "gates": [{"id": "gate-north", "name": "北门"}]}
        ]
    }
)


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(SITE, engine, ACCOUNTS, PASSWORD) as ctx:
        yield ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        yield http


def alert(kind: AlertKind, subject: str = "gate-north") -> Alert:
    return Alert(SCHOOL, kind, "gate", subject, datetime.now(UTC), f"{subject} {kind}")


async def raise_alerts(context: GatewayContext, *alerts: Alert) -> None:
    outbox = AlertOutbox(
        context.writer,
        context.sessions,
        topic_prefix="campus",
        zone=context.settings.gateway.zone,
        metrics=context.metrics,
        health=context.health,
        on_store=open_tickets,
    )
    await outbox.raise_alerts(list(alerts))


async def step(client: httpx.AsyncClient, user: str, ticket: str, **body: object) -> httpx.Response:
    return await client.post(
        f"/api/v1/hazards/{ticket}/steps",
        json=body,
        headers=await bearer(client, user, PASSWORD),
    )


async def test_a_violation_goes_round_the_closed_loop(
    context: GatewayContext, client: httpx.AsyncClient
) -> None:
    await raise_alerts(context, alert(AlertKind.GATE_UNSTAFFED))
    await raise_alerts(context, alert(AlertKind.GATE_STAFFED), alert(AlertKind.GATE_UNSTAFFED))
    inspector = await bearer(client, "inspector", PASSWORD)
    listed = (await client.get("/api/v1/hazards", headers=inspector)).json()
    assert len(listed) == 1  # a clearing alert is no danger; a repeat is counted
    ticket = listed[0]
    assert (ticket["category"], ticket["stage"], ticket["occurrences"]) == (
        "gate_unstaffed",
        "found",
        2,
    )
    number = ticket["ticket_id"]

    skipped = await step(client, "inspector", number, stage="assigned", assignee="x")
    assert skipped.status_code == 409
    assert "the next stage is assessed" in skipped.json()["detail"]
    assert (
        await step(client, "inspector", number, stage="assessed", note="夜班交接空岗")
    ).status_code == 200
    no_deadline = await step(client, "inspector", number, stage="assigned", assignee="保卫处")
    assert no_deadline.status_code == 422
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assigned = await step(
        client, "officer", number, stage="assigned", assignee="保卫处王主任", deadline=deadline
    )
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["assignee"] == "保卫处王主任"
    assert (await step(client, "guard-li", number, stage="controlled")).status_code == 403
    assert (
        await step(client, "officer", number, stage="controlled", note="增派一名保安")
    ).status_code == 200
    closed = await step(client, "inspector", number, stage="fed_back", note="复查无空岗")
    body = closed.json()
    assert body["stage"] == "fed_back"
    assert [(s["stage"], s["username"]) for s in body["steps"]] == [
        ("assessed", "inspector"),
        ("assigned", "officer"),
        ("controlled", "officer"),
        ("fed_back", "inspector"),
    ]
    assert (await step(client, "inspector", number, stage="fed_back")).status_code == 409
    assert (await client.get("/api/v1/hazards", headers=inspector)).json() == []
    assert len((await client.get("/api/v1/hazards?state=closed", headers=inspector)).json()) == 1

    # The same violation again after the loop closed: a new ticket.
    await raise_alerts(context, alert(AlertKind.GATE_UNSTAFFED))
    reopened = (await client.get("/api/v1/hazards", headers=inspector)).json()
    assert len(reopened) == 1
    assert reopened[0]["ticket_id"] != number


async def test_overdue_tickets_come_first(
    context: GatewayContext, client: httpx.AsyncClient
) -> None:
    await raise_alerts(context, alert(AlertKind.PATROL_OVERDUE, "cp-a"))
    await raise_alerts(context, alert(AlertKind.POLICE_LINK_DOWN, "110"))
    async with context.sessions() as session:  # an assignment whose deadline has passed
        ticket = await session.scalar(select(HazardTicket).where(HazardTicket.subject_id == "cp-a"))
        assert ticket is not None
        ticket.stage = "assigned"
        ticket.deadline = datetime.now(UTC) - timedelta(hours=1)
        await session.commit()
    listed = (
        await client.get("/api/v1/hazards", headers=await bearer(client, "guard-li", PASSWORD))
    ).json()
    assert [(t["subject_id"], t["overdue"]) for t in listed] == [("cp-a", True), ("110", False)]
    missing = await step(client, "inspector", "HD-nope", stage="assessed")
    assert missing.status_code == 404
