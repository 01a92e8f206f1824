"""A gateway context on a test's database (no runtime), its accounts, and an API client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import AlertOutbox
from gateway.api.routes import build_api_router
from gateway.auth.login_limit import LoginLimiter
from gateway.auth.passwords import hash_password
from gateway.bus import EventBus
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.hazards.tickets import open_tickets
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings
from gateway.storage.database import create_sessionmaker
from gateway.storage.users import UserRepository
from gateway.storage.writer import DatabaseWriter
from tests.support.audit import assert_log_intact

Accounts = Mapping[str, tuple[Role, str | None]]  # username -> (role, school)


@asynccontextmanager
async def gateway_context(
    settings: Settings,
    engine: AsyncEngine,
    accounts: Accounts | None = None,
    password: str = "",
    *,
    verify_log: bool = True,
) -> AsyncIterator[GatewayContext]:
    """The context the API and the runtime share, on `engine`, with `accounts` (all with
    `password`). On the way out the audit log must verify (unless the test tampers)."""
    context = GatewayContext(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        metrics=GatewayMetrics(),
        health=HealthBoard(),
        bus=EventBus(),
        token_secret="x" * 32,
        writer=DatabaseWriter(engine),
    )
    if accounts:
        stored = hash_password(password)
        async with context.sessions() as session:
            users = UserRepository(session)
            for username, (role, school) in accounts.items():
                await users.add_or_update(username, stored, role, school)
            await session.commit()
    try:
        yield context
    finally:
        await context.writer.aclose()
    if verify_log:
        await assert_log_intact(engine)


@asynccontextmanager
async def api_client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    """The REST API in-process (no lifespan: the context is given)."""
    app = FastAPI()
    app.include_router(build_api_router())
    app.state.context = context
    app.state.login_limiter = LoginLimiter()  # as create_app does
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        yield http


async def bearer(client: httpx.AsyncClient, username: str, password: str) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def alert_outbox(context: GatewayContext, topic_prefix: str = "campus") -> AlertOutbox:
    """An alert outbox on the context's database (stores, opening hidden-danger tickets as
    the runtime's does; publishing is not started)."""
    return AlertOutbox(
        context.writer,
        context.sessions,
        topic_prefix=topic_prefix,
        zone=context.settings.gateway.zone,
        metrics=context.metrics,
        health=context.health,
        on_store=open_tickets,
    )
