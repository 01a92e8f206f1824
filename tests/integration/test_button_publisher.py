"""The simulated alarm button and the MQTT publisher against a real Mosquitto."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import aiomqtt
import pytest

from drivers.mqtt.publisher import MqttPublisher
from gateway.errors import ConfigError, DeviceUnavailable
from gateway.settings import Settings
from simulators.button import press_button, press_forever, run_button_cli
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto

SCHOOL = "fy-dongguan-ms"


def site(broker: MosquittoBroker) -> Settings:
    return Settings.model_validate(
        {
            "mqtt": {"url": broker.url, "connect_timeout_s": 2},
            "schools": [
                {
                    "id": SCHOOL,
                    "name": "东关中学",
                    "alarm_buttons": [
                        {"id": "btn-north", "location": "北门警务室", "zone": 1},
                        {"id": "btn-office", "location": "校长室", "zone": 2},
                    ],
                }
            ],
        }
    )


@pytest.fixture
async def listener(mosquitto: MosquittoBroker) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(mosquitto.host, mosquitto.port, identifier="test-listener") as client:
        await client.subscribe("campus/#", qos=1)
        yield client


async def received(
    client: aiomqtt.Client, count: int, timeout_s: float = 10
) -> list[aiomqtt.Message]:
    messages: list[aiomqtt.Message] = []
    async with asyncio.timeout(timeout_s):
        async for message in client.messages:
            messages.append(message)
            if len(messages) == count:
                break
    return messages


async def test_press_publishes_the_spec_topic_and_payload(
    mosquitto: MosquittoBroker, listener: aiomqtt.Client
) -> None:
    at = datetime(2024, 5, 1, 8, 0, 3, 250000, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with MqttPublisher(mosquitto.url, client_id="sim-test") as publisher:
        sent = await press_button(
            publisher,
            prefix="campus",
            school=SCHOOL,
            button="btn-north",
            event="test",
            message_id="m-0001",
            at=at,
        )

    [message] = await received(listener, 1)
    assert message.topic.value == f"campus/{SCHOOL}/alarm/btn-north/event"
    assert message.qos == 1
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload) == sent
    assert sent == {"event": "test", "ts": "2024-05-01T08:00:03.250+08:00", "id": "m-0001"}


async def test_fresh_ids_and_current_time_by_default(
    mosquitto: MosquittoBroker, listener: aiomqtt.Client
) -> None:
    async with MqttPublisher(mosquitto.url) as publisher:
        first = await press_button(publisher, prefix="campus", school=SCHOOL, button="btn-north")
        second = await press_button(publisher, prefix="campus", school=SCHOOL, button="btn-north")

    assert first["id"] != second["id"]
    assert first["event"] == "press"
    assert datetime.fromisoformat(first["ts"]).utcoffset() is not None
    assert len(await received(listener, 2)) == 2


async def test_cli_comes_online_presses_and_goes_offline(
    mosquitto: MosquittoBroker, listener: aiomqtt.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    await run_button_cli(
        site(mosquitto),
        school=SCHOOL,
        button="btn-office",
        event="press",
        count=2,
        interval_s=0.05,
        mqtt_url=None,
    )

    messages = await received(listener, 4)
    status = f"campus/{SCHOOL}/alarm/btn-office/status"
    event = f"campus/{SCHOOL}/alarm/btn-office/event"
    assert [m.topic.value for m in messages] == [status, event, event, status]
    assert [messages[0].payload, messages[3].payload] == [b"online", b"offline"]
    lines = capsys.readouterr().out.splitlines()
    assert sum(" press " in line for line in lines) == 2
    # The last word a retained status says about the button is `offline`.
    async with aiomqtt.Client(mosquitto.host, mosquitto.port) as late:
        await late.subscribe(status, qos=1)
        [retained] = await received(late, 1)
    assert retained.payload == b"offline"
    assert retained.retain


@pytest.mark.parametrize(
    ("school", "button", "event", "reason"),
    [
        ("no-such-school", "btn-north", "press", "no school 'no-such-school'"),
        (SCHOOL, "btn-nowhere", "press", "no alarm button 'btn-nowhere'"),
        (SCHOOL, "btn-north", "guard_on", "--event"),
    ],
)
async def test_cli_refuses_what_the_site_does_not_have(
    mosquitto: MosquittoBroker, school: str, button: str, event: str, reason: str
) -> None:
    with pytest.raises(ConfigError, match=reason):
        await run_button_cli(
            site(mosquitto),
            school=school,
            button=button,
            event=event,
            count=1,
            interval_s=0,
            mqtt_url=None,
        )


async def test_press_forever_until_stopped(
    mosquitto: MosquittoBroker, listener: aiomqtt.Client
) -> None:
    buttons = [(SCHOOL, "btn-north"), (SCHOOL, "btn-office")]
    stop = asyncio.Event()
    async with MqttPublisher(mosquitto.url) as publisher:
        presses = asyncio.create_task(
            press_forever(
                publisher,
                prefix="campus",
                buttons=buttons,
                every_s=0.02,
                stop=stop,
                rng=random.Random(7),
            )
        )
        messages = await received(listener, 20)
        stop.set()
        await asyncio.wait_for(presses, timeout=5)

    topics = {f"campus/{s}/alarm/{b}/event" for s, b in buttons}
    assert {m.topic.value for m in messages} <= topics
    events = [json.loads(m.payload)["event"] for m in messages if isinstance(m.payload, bytes)]
    assert set(events) == {"press", "test"}


async def test_broker_down_at_connect(mosquitto: MosquittoBroker) -> None:
    mosquitto.stop()

    with pytest.raises(DeviceUnavailable, match="cannot connect"):
        async with MqttPublisher(mosquitto.url, timeout_s=1):
            pass


async def test_broker_down_at_publish_then_back(mosquitto: MosquittoBroker) -> None:
    async with MqttPublisher(mosquitto.url, client_id="sim-restart", timeout_s=1) as publisher:
        mosquitto.stop()
        with pytest.raises(DeviceUnavailable):
            await press_button(publisher, prefix="campus", school=SCHOOL, button="btn-north")
        mosquitto.start()
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as after:
            await after.subscribe("campus/+/alarm/+/event", qos=1)
            # The same publisher connects again on its next publish.
            sent = await press_button(publisher, prefix="campus", school=SCHOOL, button="btn-north")
            [message] = await received(after, 1)
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload) == sent


async def test_publish_after_a_broker_restart_reconnects_first(mosquitto: MosquittoBroker) -> None:
    async with MqttPublisher(mosquitto.url, timeout_s=5) as publisher:
        mosquitto.restart()
        await asyncio.sleep(0.2)  # let the event loop see the closed socket
        async with aiomqtt.Client(mosquitto.host, mosquitto.port) as after:
            await after.subscribe("campus/+/alarm/+/event", qos=1)
            sent = await press_button(publisher, prefix="campus", school=SCHOOL, button="btn-north")
            [message] = await received(after, 1)
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload) == sent


async def test_silent_server_fails_within_the_timeout_and_is_let_go() -> None:
    closed = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers CONNECT; returns when the client hangs up
        closed.set()
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        with pytest.raises(DeviceUnavailable, match="cannot connect"):
            async with MqttPublisher(f"mqtt://127.0.0.1:{port}", timeout_s=0.5):
                pass
        await asyncio.wait_for(closed.wait(), timeout=5)


def test_bad_urls_are_config_errors() -> None:
    for url in ("http://127.0.0.1:1883", "mqtt://", "mqtt://host:notaport"):
        with pytest.raises(ConfigError):
            MqttPublisher(url)
    with pytest.raises(ConfigError) as caught:
        MqttPublisher("tcp://user:hunter2@broker:1883")
    assert "hunter2" not in str(caught.value)
