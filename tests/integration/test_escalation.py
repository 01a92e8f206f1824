"""An alarm no primary police endpoint acknowledges in time escalates: an alert to its school
and the alarm to the secondary endpoint, once. Against a private Mosquitto, both databases
and two simulated police centres."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.context import GatewayContext
from gateway.settings import Settings, parse_settings
from gateway.storage.models import Alarm
from simulators.button import press_button
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], primary: str, secondary: str
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url,
        database_url=url,
        database_schema=schema,
        police_urls={"city-110": primary, "province-110": secondary},
    )
    tree["police"][1]["secondary"] = True
    tree["linkage"] = {"escalation_s": 0.5}
    return parse_settings(tree)


async def press(broker: MosquittoBroker, button: str = "btn-north") -> None:
    async with MqttPublisher(broker.url, client_id="btn") as publisher:
        await press_button(publisher, prefix="campus", school="fy-dongguan-ms", button=button)


async def test_an_unacknowledged_alarm_escalates_once_to_the_secondary(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with (
        police_centre() as primary,
        police_centre() as secondary,
        alert_listener(mosquitto) as alerts,
    ):
        primary.centre.set_failing(True)
        settings = settings_for(mosquitto, database, primary.url, secondary.url)
        async with running(settings) as app:
            await press(mosquitto)
            await eventually(lambda: len(secondary.centre.receipts) == 1, what="the secondary")
            await eventually(
                lambda: [a for a in alerts if a["kind"] == "alarm_escalated"], what="the alert"
            )
            escalations = [a for a in alerts if a["kind"] == "alarm_escalated"]
            assert escalations[0]["school_id"] == "fy-dongguan-ms"
            assert escalations[0]["location"] == "北门警务室"
            assert escalations[0]["secondary"] == ["province-110"]
            assert escalations[0]["alarm_id"] == secondary.centre.receipts[0].alarm_id

            # The primary comes back: it gets the alarm too; nothing escalates twice.
            primary.centre.set_failing(False)
            await eventually(lambda: len(primary.centre.receipts) == 1, what="the primary")
            await asyncio.sleep(1.5)
            assert len([a for a in alerts if a["kind"] == "alarm_escalated"]) == 1
            assert len(secondary.centre.receipts) == 1
            context: GatewayContext = app.state.context
            async with context.sessions() as session:
                alarm = (await session.scalars(select(Alarm))).one()
            assert alarm.escalated_at is not None
            assert alarm.acknowledged_at is not None
        # ... nor after a restart.
        async with running(settings):
            await asyncio.sleep(1.5)
        assert len([a for a in alerts if a["kind"] == "alarm_escalated"]) == 1


async def test_an_acknowledged_alarm_never_reaches_the_secondary(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with (
        police_centre() as primary,
        police_centre() as secondary,
        alert_listener(mosquitto) as alerts,
    ):
        settings = settings_for(mosquitto, database, primary.url, secondary.url)
        async with running(settings):
            await press(mosquitto)
            await eventually(lambda: len(primary.centre.receipts) == 1, what="the primary")
            await asyncio.sleep(1.5)
        assert secondary.centre.receipts == []
        assert [a for a in alerts if a["kind"] == "alarm_escalated"] == []
