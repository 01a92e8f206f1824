"""The gateway in-process for integration tests, and a listener for its alerts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiomqtt
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.settings import Settings
from tests.support.audit import assert_site_log_intact
from tests.support.police import eventually
from tests.support.services import MosquittoBroker


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[FastAPI]:
    """The gateway with its runtime, once its broker connections are up."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        context: GatewayContext = app.state.context
        await eventually(
            lambda: all(
                s.up for name, s in context.health.snapshot().items() if name.startswith("broker")
            ),
            what="the gateway to connect to the broker",
        )
        yield app
    gateway = settings.gateway
    await assert_site_log_intact(gateway.database_url, gateway.database_schema)


@asynccontextmanager
async def alert_listener(
    broker: MosquittoBroker, topic: str = "campus/+/gateway/alert"
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every alert published on `topic` while inside, as decoded JSON plus its `topic`."""
    seen: list[dict[str, Any]] = []

    async def listen(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            body = json.loads(bytes(message.payload))  # type: ignore[arg-type]
            seen.append({"topic": str(message.topic), **body})

    async with aiomqtt.Client(broker.host, broker.port, identifier="alert-listener") as client:
        await client.subscribe(topic, qos=1)
        task = asyncio.create_task(listen(client), name="alert-listener")
        try:
            yield seen
        finally:
            task.cancel()
