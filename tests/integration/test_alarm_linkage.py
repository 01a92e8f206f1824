"""A button pressed over MQTT reaches the police: the gateway in-process, against a private
Mosquitto, a real database (SQLite and PostgreSQL) and the simulated police centre over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import func, select

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.settings import parse_settings
from gateway.storage.models import Alarm, PoliceDelivery
from simulators.button import press_button
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
PREFIX = "campus"


@asynccontextmanager
async def running_gateway(
    broker: MosquittoBroker, database: tuple[str, str | None], police: dict[str, str]
) -> AsyncIterator[FastAPI]:
    url, schema = database
    settings = parse_settings(
        site_tree(mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls=police)
    )
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        context: GatewayContext = app.state.context
        await eventually(
            lambda: all(
                state.up
                for name, state in context.health.snapshot().items()
                if name.startswith("broker")
            ),
            what="the gateway to connect to the broker",
        )
        yield app


def context_of(app: FastAPI) -> GatewayContext:
    context: GatewayContext = app.state.context
    return context


async def count(app: FastAPI, model: Any) -> int:
    async with context_of(app).sessions() as session:
        return int((await session.execute(select(func.count()).select_from(model))).scalar_one())


@pytest.fixture
async def publisher(mosquitto: MosquittoBroker) -> AsyncIterator[MqttPublisher]:
    async with MqttPublisher(mosquitto.url, client_id="test-buttons") as pub:
        yield pub


async def test_press_is_stored_and_forwarded_to_every_endpoint(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], publisher: MqttPublisher
) -> None:
    async with (
        police_centre() as first,
        police_centre() as second,
        running_gateway(
            mosquitto, database, {"city-110": first.url, "district-110": second.url}
        ) as app,
    ):
        async with context_of(app).bus.subscribe() as notices:
            sent = await press_button(
                publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-north", event="press"
            )
            notice = await asyncio.wait_for(notices.get(), 10)
            while notice.topic != "alarm":
                notice = await asyncio.wait_for(notices.get(), 10)
        assert notice.data == {
            "school_id": "fy-dongguan-ms",
            "device_id": "btn-north",
            "kind": "press",
        }
        await eventually(
            lambda: len(first.centre.receipts) == 1 and len(second.centre.receipts) == 1,
            what="both centres to receive the press",
        )
        async with context_of(app).sessions() as session:
            alarm = (await session.execute(select(Alarm))).scalar_one()
            deliveries = (await session.execute(select(PoliceDelivery))).scalars().all()
        assert alarm.kind == "emergency" and alarm.source_id == sent["id"]
        assert alarm.school_name == "汾阳市东关中学" and alarm.location == "北门警务室"
        await eventually(lambda: _all_acknowledged(app), what="deliveries recorded as acknowledged")
        async with context_of(app).sessions() as session:
            deliveries = (await session.execute(select(PoliceDelivery))).scalars().all()
        assert {d.endpoint_id for d in deliveries} == {"city-110", "district-110"}
        assert all(
            d.attempts == 1 and d.latency_s is not None and d.latency_s >= 0 for d in deliveries
        )
        metrics = context_of(app).metrics.render().decode()
        assert 'campus_alarms_forwarded_total{endpoint="city-110",kind="emergency"} 1.0' in metrics
        assert 'campus_events_ingested_total{kind="press",transport="mqtt"} 1.0' in metrics
        assert 'campus_police_outbox_pending{endpoint="city-110"} 0.0' in metrics


async def _all_acknowledged(app: FastAPI) -> bool:
    async with context_of(app).sessions() as session:
        pending = await session.execute(
            select(func.count())
            .select_from(PoliceDelivery)
            .where(PoliceDelivery.acknowledged_at.is_(None))
        )
        return int(pending.scalar_one()) == 0


async def test_police_down_then_up_delivers_each_alarm_once_in_order(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], publisher: MqttPublisher
) -> None:
    async with police_centre() as down, police_centre() as healthy:
        down.centre.set_failing(True)
        async with running_gateway(
            mosquitto, database, {"down-110": down.url, "ok-110": healthy.url}
        ) as app:
            ids = []
            for _ in range(5):
                payload = await press_button(
                    publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-office"
                )
                ids.append(payload["id"])
            # The healthy endpoint is not held up by the one that is down.
            await eventually(lambda: len(healthy.centre.receipts) == 5, what="the healthy endpoint")
            assert len(down.centre.receipts) == 0
            await eventually(lambda: _attempts_on(app, "down-110", at_least=2), what="retries")
            down.centre.set_failing(False)
            await eventually(lambda: len(down.centre.receipts) == 5, what="delivery after recovery")
            for centre in (down, healthy):
                assert len({r.alarm_id for r in centre.centre.receipts}) == 5
            assert await count(app, Alarm) == 5
            order = await _alarm_order(app)
            assert [order[r.alarm_id] for r in down.centre.receipts] == ids


async def _alarm_order(app: FastAPI) -> dict[str, str]:
    async with context_of(app).sessions() as session:
        rows = (await session.execute(select(Alarm.alarm_id, Alarm.source_id))).all()
    return {alarm_id: source for alarm_id, source in rows}


async def _attempts_on(app: FastAPI, endpoint: str, *, at_least: int) -> bool:
    async with context_of(app).sessions() as session:
        result = await session.execute(
            select(func.max(PoliceDelivery.attempts)).where(PoliceDelivery.endpoint_id == endpoint)
        )
        return (result.scalar_one() or 0) >= at_least


async def test_duplicates_and_bad_input_are_dropped_and_the_gateway_goes_on(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], publisher: MqttPublisher
) -> None:
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
    ):
        topic = f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/event"
        body = json.dumps({"event": "press", "ts": datetime.now(UTC).isoformat(), "id": "dup-1"})
        for _ in range(3):
            await publisher.publish(topic, body)
        await publisher.publish(topic, b"\xff not json")
        await publisher.publish(f"{PREFIX}/nowhere/alarm/btn-north/event", body)
        await publisher.publish(f"{PREFIX}/fy-dongguan-ms/alarm/btn-ghost/event", body)
        await publisher.publish(
            f"{PREFIX}/fy-dongguan-ms/gate/gate-north/event", '{"event": "guard_on"}'
        )
        await press_button(
            publisher, prefix=PREFIX, school="fy-shiyan-kg", button="btn-gate", event="test"
        )
        await eventually(lambda: len(centre.centre.receipts) == 2, what="the valid alarms")
        await eventually(
            lambda: _metric(app, "campus_events_rejected_total") >= 4, what="rejections"
        )
        text = context_of(app).metrics.render().decode()
        assert 'campus_events_rejected_total{reason="not_utf8"} 1.0' in text
        assert 'campus_events_rejected_total{reason="unknown_school"} 1.0' in text
        assert 'campus_events_rejected_total{reason="unknown_device"} 1.0' in text
        assert 'campus_events_rejected_total{reason="bad_timestamp"} 1.0' in text
        assert await count(app, Alarm) == 2
        kinds = sorted(r.kind for r in centre.centre.receipts)
        assert kinds == ["emergency", "test"]


def _metric(app: FastAPI, name: str) -> float:
    total = 0.0
    for line in context_of(app).metrics.render().decode().splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_status_topics_mark_devices_online(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], publisher: MqttPublisher
) -> None:
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
    ):
        await publisher.publish(
            f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/status", "online", retain=True
        )
        await publisher.publish(
            f"{PREFIX}/fy-dongguan-ms/gate/gate-north/status", "online", retain=True
        )
        await eventually(
            lambda: _metric(app, "campus_devices_online") == 2, what="two devices online"
        )
        await publisher.publish(
            f"{PREFIX}/fy-dongguan-ms/gate/gate-north/status", "offline", retain=True
        )
        await eventually(
            lambda: _metric(app, "campus_devices_online") == 1, what="one device offline"
        )


async def test_broker_restart_and_messages_queued_while_the_gateway_was_away(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with police_centre() as centre:
        async with running_gateway(mosquitto, database, {"city-110": centre.url}):
            pass  # the first start creates the persistent session at the broker
        async with MqttPublisher(mosquitto.url, client_id="test-buttons-1") as publisher:
            queued = [
                await press_button(
                    publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-north"
                )
                for _ in range(3)
            ]
        async with running_gateway(mosquitto, database, {"city-110": centre.url}) as app:
            await eventually(
                lambda: len(centre.centre.receipts) == 3, what="alarms queued at the broker"
            )
            mosquitto.restart()
            async with MqttPublisher(mosquitto.url, client_id="test-buttons-2") as publisher:
                after = await press_button(
                    publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-north"
                )
            await eventually(
                lambda: len(centre.centre.receipts) == 4, what="an alarm after the restart"
            )
            order = await _alarm_order(app)
        assert [order[r.alarm_id] for r in centre.centre.receipts] == [q["id"] for q in queued] + [
            after["id"]
        ]
