"""The subscriber after an outage: a persistent session's backlog is delivered before the
broker's SUBACK, and may take longer than the connect timeout; the subscriber must wait it
out and drain it, not drop the connection every timeout (it would never catch up). A peer
that answers neither SUBACK nor anything else is still given up on and retried."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiomqtt
import pytest

from drivers.mqtt.subscriber import MqttConnection, MqttSubscriber
from tests.support.services import MosquittoBroker, free_port

pytestmark = pytest.mark.mosquitto
BACKLOG = 20_000
TIMEOUT_S = 0.1
TOPIC = "campus/fy-dongguan-ms/gate/gate-main/event"


async def leave_a_backlog(broker: MosquittoBroker, client_id: str) -> None:
    """Make the session (subscribed, then gone) and queue BACKLOG messages for it."""
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=client_id, clean_session=False
    ) as session:
        await session.subscribe("campus/#", qos=1)
    async with aiomqtt.Client(broker.host, broker.port, identifier="backlog-publisher") as pub:
        for start in range(0, BACKLOG, 1000):
            await asyncio.gather(
                *(
                    pub.publish(TOPIC, f'{{"event":"guard_on","id":"m-{n}"}}', qos=1)
                    for n in range(start, min(BACKLOG, start + 1000))
                )
            )


async def test_a_backlog_longer_than_the_timeout_is_drained(tmp_path: Path) -> None:
    broker = MosquittoBroker(directory=tmp_path / "broker", persistence=False)
    broker.directory.mkdir()
    broker.start()
    try:
        await leave_a_backlog(broker, "gw-telemetry")
        states: list[tuple[float, bool, str]] = []
        connection = MqttConnection(
            broker.host, broker.port, "gw-telemetry", connect_timeout_s=TIMEOUT_S
        )
        subscriber = MqttSubscriber(
            connection,
            ["campus/#"],
            on_state=lambda up, detail: states.append((time.monotonic(), up, detail)),
        )
        started = time.monotonic()
        ids: set[str] = set()

        async def drain() -> None:
            async with subscriber:
                async for batch in subscriber.batches():
                    for message in batch:
                        ids.add(message.payload.decode())
                        subscriber.ack(message)
                    if len(ids) == BACKLOG:
                        return

        await asyncio.wait_for(drain(), timeout=90)
    finally:
        broker.stop()
    assert len(ids) == BACKLOG
    assert [up for _, up, _ in states] == [True], states  # one connection, never dropped
    # The case at hand: the SUBACK came well after the timeout, behind the backlog.
    assert states[0][0] - started > 3 * TIMEOUT_S


@asynccontextmanager
async def mute_broker(
    retries: asyncio.Event,
) -> AsyncIterator[tuple[int, list[asyncio.StreamWriter]]]:
    """A peer that accepts the connection (CONNACK) and then answers nothing, not even the
    SUBSCRIBE: a broker wedged after the handshake. Yields its port and connections; sets
    `retries` at the third."""
    connections: list[asyncio.StreamWriter] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        if len(connections) >= 3:
            retries.set()
        try:
            await reader.read(1024)  # the CONNECT
            writer.write(b"\x20\x02\x00\x00")  # CONNACK, session not present, accepted
            await writer.drain()
            while await reader.read(1024):
                pass
        except ConnectionError:
            pass
        finally:
            writer.close()

    port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", port)
    try:
        yield port, connections
    finally:
        server.close()
        for writer in connections:
            writer.close()
        await server.wait_closed()


async def test_a_mute_broker_is_given_up_on_and_retried() -> None:
    retries = asyncio.Event()
    async with mute_broker(retries) as (port, connections):
        downs: list[str] = []
        connection = MqttConnection(
            "127.0.0.1",
            port,
            "gw-telemetry",
            connect_timeout_s=0.3,
            reconnect_initial_s=0.05,
            reconnect_max_s=0.1,
        )
        subscriber = MqttSubscriber(
            connection,
            ["campus/#"],
            on_state=lambda up, detail: None if up else downs.append(detail),
        )

        async def read() -> None:
            async with subscriber:
                async for _ in subscriber.batches():
                    raise AssertionError("a mute broker delivered something")

        reading = asyncio.create_task(read(), name="mute-reader")
        try:
            await asyncio.wait_for(retries.wait(), timeout=10)
        finally:
            reading.cancel()
            with pytest.raises(asyncio.CancelledError):
                await reading
    assert len(connections) >= 3
    assert downs and "no SUBACK and no message for 0.3 s" in downs[0]
