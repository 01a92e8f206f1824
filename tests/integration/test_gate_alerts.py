"""Live gate alerts end to end: staffing reports over MQTT into the gateway, alerts out on
`campus/{school}/gateway/alert`, against a private Mosquitto and both databases."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.settings import Settings, parse_settings
from gateway.storage.models import GatewayAlert
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"


def settings_for(broker: MosquittoBroker, database: tuple[str, str | None]) -> Settings:
    url, schema = database
    tree = site_tree(mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={})
    tree["rules"] = {"gate_max_unstaffed_s": 1}
    return parse_settings(tree)


def matching(seen: list[dict[str, Any]], kind: str, gate: str) -> list[dict[str, Any]]:
    return [a for a in seen if a["kind"] == kind and a["subject"]["id"] == gate]


async def staffing(publisher: MqttPublisher, gate: str, event: str, message_id: str) -> None:
    body = {"event": event, "ts": datetime.now(UTC).isoformat(), "id": message_id}
    await publisher.publish(f"campus/{DONGGUAN}/gate/{gate}/event", json.dumps(body), qos=1)


async def test_an_empty_post_raises_an_alert_and_staffing_it_clears_it(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    settings = settings_for(mosquitto, database)
    async with (
        alert_listener(mosquitto) as seen,
        MqttPublisher(mosquitto.url, client_id="test-post") as publisher,
    ):
        async with running(settings) as app:
            await staffing(publisher, "gate-north", "guard_off", "off-1")
            await eventually(
                lambda: matching(seen, "gate_unstaffed", "gate-north"), what="unstaffed alert"
            )
            alert = matching(seen, "gate_unstaffed", "gate-north")[0]
            assert alert["topic"] == f"campus/{DONGGUAN}/gateway/alert"
            assert alert["state"] == "active"
            assert alert["state_known"] is True
            assert alert["raised_at"].endswith("+08:00")
            assert "北门" in alert["message"]
            # The kindergarten gate never reported: unknown counts as empty from the start.
            await eventually(
                lambda: matching(seen, "gate_unstaffed", "gate-main"), what="unknown post alert"
            )
            await staffing(publisher, "gate-north", "guard_on", "on-1")
            await eventually(
                lambda: matching(seen, "gate_staffed", "gate-north"), what="cleared alert"
            )
            assert matching(seen, "gate_staffed", "gate-north")[0]["state"] == "cleared"
            context: GatewayContext = app.state.context
            async with context.sessions() as session:
                rows = (await session.execute(select(GatewayAlert))).scalars().all()
            await eventually(lambda: len(seen) >= len(rows), what="every stored alert published")
        # After a restart the still-active alert of the silent gate is not raised again.
        before = len(matching(seen, "gate_unstaffed", "gate-main"))
        async with running(settings) as app:
            await asyncio.sleep(2.5)
            assert len(matching(seen, "gate_unstaffed", "gate-main")) == before
            assert len(matching(seen, "gate_unstaffed", "gate-north")) == 1
            gates = {g.gate_id: g for g in app.state.runtime.gate_watch.view(datetime.now(UTC))}
            assert gates["gate-north"].state.staffed is True
            assert gates["gate-main"].alert_active is True


async def test_alerts_raised_while_the_broker_is_away_are_published_later(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    settings = settings_for(mosquitto, database)
    async with running(settings) as app:
        context: GatewayContext = app.state.context

        async def alerts(published: bool) -> list[GatewayAlert]:
            async with context.sessions() as session:
                rows = (await session.execute(select(GatewayAlert))).scalars().all()
            return [r for r in rows if (r.published_at is not None) is published]

        async def north_unstaffed_published() -> bool:
            return any(r.subject_id == "gate-north" for r in await alerts(published=True))

        await eventually(north_unstaffed_published, what="the silent north gate's alert")
        mosquitto.stop()
        # The guard checks in on the phone while the broker is down: the clearing alert is
        # stored and waits.
        now = datetime.now(UTC)
        check_in = DeviceEvent(
            device=DeviceRef(DONGGUAN, DeviceKind.GATE, "gate-north"),
            kind=EventKind.GUARD_ON,
            message_id="api-guard-1",
            occurred_at=now,
            received_at=now,
            transport=Transport.API,
            topic="api://gates",
            raw_payload="{}",
            guard_id="guard",
        )
        await app.state.runtime.devices.submit([check_in])

        async def waiting() -> bool:
            return any(r.kind == "gate_staffed" for r in await alerts(published=False))

        await eventually(waiting, what="the clearing alert stored while the broker is down")
        mosquitto.start()
        async with alert_listener(mosquitto) as seen:
            await eventually(
                lambda: matching(seen, "gate_staffed", "gate-north"),
                timeout_s=30,
                what="the stored alert published after the broker came back",
            )

            async def all_published() -> bool:
                return not await alerts(published=False)

            await eventually(all_published, what="published_at set on every alert")
