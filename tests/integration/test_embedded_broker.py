"""What the gateway relies on from MQTT, checked against the demo's embedded broker (amqtt).

The consumer here is configured like `drivers.mqtt.subscriber`: a fixed client id,
`clean_session=False`, QoS 1 subscription to `campus/+/alarm/+/event`, and paho's manual
acknowledgement (PUBACK only when the gateway says the message is stored).

Tests named `test_amqtt_...` pin amqtt 0.12 behaviour that differs from Mosquitto (and, for
the first two, from what the gateway's design assumes). If one fails after an amqtt upgrade,
the upgrade changed it: update the test and the notes in gateway/demo/broker.py.
"""

from __future__ import annotations

import asyncio
import importlib.util
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress

import aiomqtt
import pytest

from gateway.demo.broker import MISSING_AMQTT, EmbeddedBroker, EmbeddedBrokerError
from gateway.errors import GatewayError
from tests.support.services import free_port, missing

ALARMS = "campus/+/alarm/+/event"
ALARM_TOPIC = "campus/s1/alarm/b1/event"
STATUS = "campus/gateway/status"
GATEWAY_ID = "campus-gateway"
WAIT_S = 10.0  # for what must arrive
QUIET_S = 1.5  # for what must not

# The gateway's consumer in a process of its own, so that a test can kill it like a crash
# (no DISCONNECT, socket closed by the kernel). It never acknowledges anything.
CRASHING_GATEWAY = f"""
import asyncio, sys
import aiomqtt

async def main():
    client = aiomqtt.Client(
        "127.0.0.1", int(sys.argv[1]), identifier={GATEWAY_ID!r}, clean_session=False,
        will=aiomqtt.Will({STATUS!r}, "offline", qos=1, retain=True),
    )
    client._client.manual_ack_set(True)
    async with client:
        await client.subscribe({ALARMS!r}, qos=1)
        await client.publish({STATUS!r}, "online", qos=1, retain=True)
        print("ready", flush=True)
        async for message in client.messages:
            print("got", message.payload.decode(), flush=True)

asyncio.run(main())
"""


@pytest.fixture
async def broker() -> AsyncIterator[EmbeddedBroker]:
    if importlib.util.find_spec("amqtt") is None:
        missing("amqtt (the demo's embedded broker)", "pip install 'campus-gateway[demo]'")
    async with EmbeddedBroker("127.0.0.1", free_port()) as running:
        yield running


def gateway_client(broker: EmbeddedBroker, will: aiomqtt.Will | None = None) -> aiomqtt.Client:
    """The alarm consumer as drivers.mqtt.subscriber builds it."""
    client = aiomqtt.Client(
        broker.host,
        broker.port,
        identifier=GATEWAY_ID,
        clean_session=False,
        timeout=WAIT_S,
        will=will,
    )
    client._client.manual_ack_set(True)
    return client


def plain_client(broker: EmbeddedBroker, identifier: str) -> aiomqtt.Client:
    return aiomqtt.Client(broker.host, broker.port, identifier=identifier, timeout=WAIT_S)


async def receive(client: aiomqtt.Client, count: int, *, ack: bool = True) -> list[aiomqtt.Message]:
    """The next `count` messages, acknowledged (after "storing") unless `ack` is false."""
    received: list[aiomqtt.Message] = []
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            received.append(message)
            if ack and message.qos > 0:
                client._client.ack(message.mid, message.qos)
            if len(received) == count:
                break
    return received


async def nothing_more(client: aiomqtt.Client) -> list[aiomqtt.Message]:
    """Whatever arrives within QUIET_S (acknowledged); the caller expects nothing."""
    received: list[aiomqtt.Message] = []
    with suppress(TimeoutError):
        async with asyncio.timeout(QUIET_S):
            async for message in client.messages:
                received.append(message)
                if message.qos > 0:
                    client._client.ack(message.mid, message.qos)
    return received


def payloads(messages: Sequence[aiomqtt.Message]) -> list[object]:
    return [m.payload for m in messages]


async def publish(broker: EmbeddedBroker, topic: str, *payload_list: str, qos: int = 1) -> None:
    async with plain_client(broker, "test-publisher") as publisher:
        for payload in payload_list:
            await publisher.publish(topic, payload, qos=qos, timeout=WAIT_S)


async def persistent_session(broker: EmbeddedBroker) -> None:
    """Create the gateway's session and subscription, then leave cleanly."""
    async with gateway_client(broker) as client:
        await client.subscribe(ALARMS, qos=1, timeout=WAIT_S)


async def session_still_subscribed(broker: EmbeddedBroker, client: aiomqtt.Client) -> None:
    """The session (and its subscription) survived: only the in-flight message was lost."""
    await publish(broker, ALARM_TOPIC, "next")
    assert payloads(await receive(client, 1)) == [b"next"]


async def start_crashing_gateway(broker: EmbeddedBroker) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASHING_GATEWAY, str(broker.port), stdout=asyncio.subprocess.PIPE
    )
    assert await read_line(process) == "ready"
    return process


async def read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    async with asyncio.timeout(WAIT_S):
        return (await process.stdout.readline()).decode().strip()


async def crash(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGKILL)
    await process.wait()


# The class itself


async def test_url_names_host_and_port(broker: EmbeddedBroker) -> None:
    assert broker.url == f"mqtt://127.0.0.1:{broker.port}"


async def test_a_busy_port_is_a_gateway_error(broker: EmbeddedBroker) -> None:
    with pytest.raises(EmbeddedBrokerError, match=str(broker.port)) as raised:
        async with EmbeddedBroker(broker.host, broker.port):
            pass
    assert isinstance(raised.value, GatewayError)


async def test_without_amqtt_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amqtt.broker", None)  # what an uninstalled package does
    with pytest.raises(EmbeddedBrokerError) as raised:
        async with EmbeddedBroker("127.0.0.1", free_port()):
            pass
    assert str(raised.value) == MISSING_AMQTT
    assert MISSING_AMQTT == "the demo needs the embedded broker: pip install 'campus-gateway[demo]'"


async def test_stops_with_clients_still_connected(broker: EmbeddedBroker) -> None:
    async with gateway_client(broker) as client:
        await client.subscribe(ALARMS, qos=1, timeout=WAIT_S)
        await broker.stop()
        with pytest.raises(aiomqtt.MqttError):
            await receive(client, 1)
    # and the port is free again at once
    async with EmbeddedBroker(broker.host, broker.port):
        pass


# (a) QoS 1 delivery with manual acknowledgement


async def test_a_qos1_alarm_reaches_the_gateway_consumer(broker: EmbeddedBroker) -> None:
    async with gateway_client(broker) as client:
        await client.subscribe(ALARMS, qos=1, timeout=WAIT_S)
        await publish(broker, ALARM_TOPIC, "pressed")
        [message] = await receive(client, 1)
        assert (str(message.topic), message.payload, message.qos) == (ALARM_TOPIC, b"pressed", 1)
        assert message.retain is False
    # acknowledged, so not delivered again to the same session
    async with gateway_client(broker) as client:
        assert await nothing_more(client) == []


# (b) delivered, not acknowledged, connection gone: amqtt does NOT redeliver


async def test_amqtt_drops_an_unacknowledged_message_when_the_gateway_crashes(
    broker: EmbeddedBroker,
) -> None:
    """Mosquitto would deliver "unstored" again on reconnection (MQTT-4.4.0-1). amqtt
    forgets an in-flight QoS 1 message as soon as the connection closes (and after 5 s
    without a PUBACK even while connected), so the demo can lose an alarm that the gateway
    received but had not stored when it crashed."""
    async with plain_client(broker, "status-watcher") as watcher:
        await watcher.subscribe(STATUS, qos=1, timeout=WAIT_S)
        process = await start_crashing_gateway(broker)
        try:
            await publish(broker, ALARM_TOPIC, "unstored")
            assert await read_line(process) == "got unstored"
        finally:
            await crash(process)
        # the will tells us the broker has noticed; then let it finish closing the session
        assert b"offline" in payloads(await receive(watcher, 2))
        await asyncio.sleep(0.5)

    async with gateway_client(broker) as client:
        again = [m for m in await nothing_more(client) if str(m.topic) == ALARM_TOPIC]
        assert again == []  # Mosquitto: [b"unstored"]
        await session_still_subscribed(broker, client)


async def test_amqtt_drops_an_unacknowledged_message_on_a_clean_disconnect(
    broker: EmbeddedBroker,
) -> None:
    await persistent_session(broker)
    async with gateway_client(broker) as client:
        await publish(broker, ALARM_TOPIC, "unstored")
        assert payloads(await receive(client, 1, ack=False)) == [b"unstored"]
    async with gateway_client(broker) as client:
        assert await nothing_more(client) == []  # Mosquitto: [b"unstored"]
        await session_still_subscribed(broker, client)


# (c) published while the gateway is away: queued, delivered on reconnection


async def test_c_alarms_published_while_away_are_delivered_on_reconnection(
    broker: EmbeddedBroker,
) -> None:
    await persistent_session(broker)
    sent = [f"press-{n}" for n in range(5)]
    await publish(broker, ALARM_TOPIC, *sent)
    async with gateway_client(broker) as client:
        received = await receive(client, len(sent))
        assert payloads(received) == [p.encode() for p in sent]  # all, in order
        assert {(str(m.topic), m.qos) for m in received} == {(ALARM_TOPIC, 1)}
        assert await nothing_more(client) == []


async def test_c_queued_alarms_reach_a_consumer_that_subscribes_before_reading(
    broker: EmbeddedBroker,
) -> None:
    """The gateway's own order: connect, subscribe (waiting for SUBACK), then read. amqtt
    sends the queued messages first and answers the SUBSCRIBE only once they are
    acknowledged, which manual ack cannot do before SUBACK: the SUBACK comes after amqtt's
    5 s PUBACK timeout, and nothing is lost (the messages are already in the client)."""
    await persistent_session(broker)
    sent = [f"press-{n}" for n in range(3)]
    await publish(broker, ALARM_TOPIC, *sent)
    async with gateway_client(broker) as client:
        await client.subscribe(ALARMS, qos=1, timeout=WAIT_S)  # the gateway's 10 s default
        assert payloads(await receive(client, len(sent))) == [p.encode() for p in sent]


async def test_c_a_clean_session_gets_nothing_queued(broker: EmbeddedBroker) -> None:
    await persistent_session(broker)
    await publish(broker, ALARM_TOPIC, "missed")
    async with aiomqtt.Client(
        broker.host, broker.port, identifier=GATEWAY_ID, clean_session=True, timeout=WAIT_S
    ) as client:
        assert await nothing_more(client) == []


# (d) retained messages and wills


async def test_d_a_retained_status_reaches_later_subscribers(broker: EmbeddedBroker) -> None:
    async with plain_client(broker, "gateway-status") as gateway:
        await gateway.publish(STATUS, "online", qos=1, retain=True, timeout=WAIT_S)
    async with plain_client(broker, "dashboard") as dashboard:
        await dashboard.subscribe(STATUS, qos=1, timeout=WAIT_S)
        [message] = await receive(dashboard, 1)
        assert (message.payload, message.retain) == (b"online", True)


async def test_d_the_will_is_published_and_retained_when_the_gateway_dies(
    broker: EmbeddedBroker,
) -> None:
    async with plain_client(broker, "status-watcher") as watcher:
        await watcher.subscribe(STATUS, qos=1, timeout=WAIT_S)
        process = await start_crashing_gateway(broker)
        [online] = await receive(watcher, 1)
        assert online.payload == b"online"
        await crash(process)
        [offline] = await receive(watcher, 1)
        assert offline.payload == b"offline"
        assert offline.retain is False  # a live copy, as MQTT says
    async with plain_client(broker, "dashboard") as dashboard:
        await dashboard.subscribe(STATUS, qos=1, timeout=WAIT_S)
        # the retained copy (amqtt may send it twice, see the quirk test below)
        received = await receive(dashboard, 1)
        assert (received[0].payload, received[0].retain) == (b"offline", True)


async def test_d_no_will_after_a_clean_disconnect(broker: EmbeddedBroker) -> None:
    """MQTT discards the will on DISCONNECT; this is why MqttPublisher publishes its will
    payload itself on a clean exit."""
    will = aiomqtt.Will(STATUS, "offline", qos=1, retain=True)
    async with gateway_client(broker, will=will) as client:
        await client.publish(STATUS, "online", qos=1, retain=True, timeout=WAIT_S)
    async with plain_client(broker, "dashboard") as dashboard:
        await dashboard.subscribe(STATUS, qos=1, timeout=WAIT_S)
        assert payloads(await receive(dashboard, 1)) == [b"online"]


# Other amqtt 0.12 behaviour the demo meets


async def test_amqtt_flags_queued_messages_as_retained(broker: EmbeddedBroker) -> None:
    """Mosquitto delivers messages queued for an offline session with retain=0."""
    await persistent_session(broker)
    await publish(broker, ALARM_TOPIC, "queued")
    async with gateway_client(broker) as client:
        [message] = await receive(client, 1)
    assert message.retain is True


async def test_amqtt_sends_retained_messages_for_other_clients_filters_on_connect(
    broker: EmbeddedBroker,
) -> None:
    """On every connection amqtt sends, at QoS 0, the retained messages matching ANY
    filter any client subscribed to, not only the connecting client's. The gateway's
    telemetry consumer subscribes `campus/#`, so the alarm consumer receives the retained
    `campus/gateway/status` on each (re)connection, and rejects it as a bad topic."""
    async with plain_client(broker, "gateway-status") as gateway:
        await gateway.publish(STATUS, "online", qos=1, retain=True, timeout=WAIT_S)
    async with plain_client(broker, "telemetry") as telemetry:
        await telemetry.subscribe("campus/#", qos=1, timeout=WAIT_S)
        async with gateway_client(broker) as alarms:  # subscribed to nothing yet
            [message] = await receive(alarms, 1)
    assert (str(message.topic), message.payload, message.qos) == (STATUS, b"online", 0)


async def test_amqtt_delivers_at_the_subscription_qos(broker: EmbeddedBroker) -> None:
    """MQTT delivers at min(publish QoS, subscription QoS); amqtt uses the subscription's."""
    async with gateway_client(broker) as client:
        await client.subscribe(ALARMS, qos=1, timeout=WAIT_S)
        await publish(broker, ALARM_TOPIC, "qos0", qos=0)
        [message] = await receive(client, 1)
    assert message.qos == 1
