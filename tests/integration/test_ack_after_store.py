"""The broker is told a message arrived only once it is stored: a gateway stopped while the
database cannot take the write gets the message again from the broker, and the gateway says
online/offline on its status topic."""

from __future__ import annotations

import asyncio

import aiomqtt
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from drivers.mqtt.publisher import MqttPublisher
from simulators.button import press_button
from tests.integration.test_alarm_linkage import PREFIX, running_gateway
from tests.support.police import eventually, police_centre
from tests.support.services import POSTGRES_URL, MosquittoBroker

pytestmark = pytest.mark.mosquitto


async def test_a_press_not_yet_stored_is_redelivered_after_a_stop(
    mosquitto: MosquittoBroker, postgres_database: tuple[str, str | None]
) -> None:
    # PostgreSQL: a lock the test can hold and release at will (LOCK TABLE).
    database = postgres_database
    _, schema = database
    async with police_centre() as centre:
        async with running_gateway(mosquitto, database, {"city-110": centre.url}):
            pass  # creates the schema and the broker session
        locker = create_async_engine(
            POSTGRES_URL, connect_args={"server_settings": {"search_path": str(schema)}}
        )
        try:
            async with locker.connect() as conn:
                transaction = await conn.begin()
                await conn.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
                async with running_gateway(mosquitto, database, {"city-110": centre.url}):
                    async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                        sent = await press_button(
                            publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-north"
                        )
                    await asyncio.sleep(1.0)  # received, blocked on the write, not acknowledged
                    assert centre.centre.receipts == []
                await transaction.rollback()
        finally:
            await locker.dispose()
        async with running_gateway(mosquitto, database, {"city-110": centre.url}):
            await eventually(lambda: len(centre.centre.receipts) == 1, what="the redelivered press")
        assert centre.centre.receipts[0].source_id == sent["id"]


async def test_gateway_status_online_then_offline_on_a_clean_stop(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    seen: list[str] = []

    async def watch(client: aiomqtt.Client) -> None:
        async for message in client.messages:
            seen.append(bytes(message.payload).decode())  # type: ignore[arg-type]

    async with (
        police_centre() as centre,
        aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="watcher") as client,
    ):
        await client.subscribe(f"{PREFIX}/gateway/status", qos=1)
        watcher = asyncio.create_task(watch(client))
        try:
            async with running_gateway(mosquitto, database, {"city-110": centre.url}):
                await eventually(lambda: seen[-1:] == ["online"], what="online")
            await eventually(lambda: seen[-1:] == ["offline"], what="offline after the stop")
        finally:
            watcher.cancel()
