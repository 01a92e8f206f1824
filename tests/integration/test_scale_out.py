"""Two gateways in one process (scale-out, docs/scale-out.md) on a private Mosquitto and one
PostgreSQL schema: the gate sensors' reports are shared between them (each stores a part),
yet both gate watches know every post's state (the record is followed), one of them leads,
and the gateway's status topic reads `offline` only once both are gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

import aiomqtt
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.runtime import GatewayRuntime
from gateway.settings import parse_settings
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
GATES = [("fy-dongguan-ms", "gate-north"), ("fy-shiyan-kg", "gate-main")]
REPORTS = 24


@asynccontextmanager
async def gateway(
    name: str, broker: MosquittoBroker, database: tuple[str, str | None], police_url: str
) -> AsyncIterator[FastAPI]:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url,
        database_url=url,
        database_schema=schema,
        police_urls={"city-110": police_url},
    )
    tree["gateway"].update(instance_id=name, leader_retry_s=0.3)
    tree["mqtt"]["shared_group"] = "gateways"
    app = create_app(parse_settings(tree))
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        context: GatewayContext = app.state.context
        await eventually(
            lambda: all(
                state.up
                for component, state in context.health.snapshot().items()
                if component.startswith("broker") or component == "leadership"
            ),
            what=f"{name} to connect",
        )
        yield app


def runtime_of(app: FastAPI) -> GatewayRuntime:
    runtime: GatewayRuntime = app.state.runtime
    return runtime


def ingested(app: FastAPI) -> float:
    registry = runtime_of(app).context.metrics.registry
    return sum(
        registry.get_sample_value(
            "campus_events_ingested_total", {"kind": kind, "transport": "mqtt"}
        )
        or 0.0
        for kind in ("guard_on", "guard_off")
    )


def staffed(app: FastAPI) -> dict[tuple[str, str], bool | None]:
    return {
        (live.school_id, live.gate_id): live.state.staffed
        for live in runtime_of(app).gate_watch.view(datetime.now(UTC))
    }


async def retained_status(broker: MosquittoBroker) -> str:
    async with aiomqtt.Client(broker.host, broker.port, identifier="status-reader") as client:
        await client.subscribe("campus/gateway/status", qos=1)
        async with asyncio.timeout(5):
            async for message in client.messages:
                return bytes(message.payload).decode()
    raise AssertionError("no retained status")


async def test_two_instances_share_the_telemetry_and_both_know_every_post(
    mosquitto: MosquittoBroker, postgres_database: tuple[str, str | None]
) -> None:
    async with police_centre() as police, AsyncExitStack() as stack:
        a = await stack.enter_async_context(
            gateway("gw-a", mosquitto, postgres_database, police.url)
        )
        b_stack = AsyncExitStack()
        b = await b_stack.enter_async_context(
            gateway("gw-b", mosquitto, postgres_database, police.url)
        )
        stack.push_async_callback(b_stack.aclose)
        leaders = [app for app in (a, b) if runtime_of(app).election.is_leader]  # type: ignore[union-attr]
        assert len(leaders) == 1

        # Guards come and go at two posts; each post ends staffed / empty in turn.
        start = datetime.now(UTC) - timedelta(minutes=5)
        async with MqttPublisher(mosquitto.url, client_id="gate-sensors", timeout_s=5) as sensors:
            for n in range(REPORTS):
                school, gate = GATES[n % 2]
                event = "guard_on" if (n // 2) % 2 == 0 else "guard_off"
                body = {
                    "event": event,
                    "ts": (start + timedelta(seconds=n)).isoformat(),
                    "id": f"r{n}",
                }
                await sensors.publish(f"campus/{school}/gate/{gate}/event", json.dumps(body), qos=1)
        last = {GATES[n % 2]: (n // 2) % 2 == 0 for n in range(REPORTS)}

        await eventually(lambda: ingested(a) + ingested(b) == REPORTS, what="every report stored")
        assert ingested(a) > 0 and ingested(b) > 0, (ingested(a), ingested(b))
        # Each watch has seen every report, whoever stored it.
        for app in (a, b):
            await eventually(lambda app=app: staffed(app) == last, what="both watches to agree")

        # One instance stops (its farewell says `offline`): the other says `online` again.
        await b_stack.aclose()
        await eventually(
            lambda: runtime_of(a).election.is_leader,  # type: ignore[union-attr]
            timeout_s=10,
            what="A to lead alone",
        )
        assert await retained_status(mosquitto) == "online"
    assert await retained_status(mosquitto) == "offline"
