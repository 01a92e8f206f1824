"""What Mosquitto does with a shared subscription whose member dies (docs/scale-out.md relies
on it): the member's turn goes on while it is away, its messages and what was in flight to it
wait in its persistent session, and come when the same client id connects again. Nothing is
lost, and nothing goes to the other member meanwhile: hence alarms reach every gateway
instance on a plain subscription, and a killed instance is restarted with its id."""

from __future__ import annotations

import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
import pytest

from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto
SHARED = "$share/gateways/t/#"


def member(broker: MosquittoBroker, client_id: str, got: list[str], *, ack: bool) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    client.manual_ack_set(True)

    def on_message(c: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        got.append(message.payload.decode())
        if ack:
            c.ack(message.mid, message.qos)

    client.on_message = on_message
    client.connect(broker.host, broker.port)
    client.subscribe(SHARED, qos=1)
    client.loop_start()
    return client


def until(predicate: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_dead_members_share_waits_in_its_session(mosquitto: MosquittoBroker) -> None:
    got_a: list[str] = []
    got_b: list[str] = []
    a = member(mosquitto, "member-a", got_a, ack=False)  # takes, never acknowledges
    b = member(mosquitto, "member-b", got_b, ack=True)
    publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="publisher")
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        time.sleep(0.3)
        for n in range(6):
            publisher.publish("t/x", f"m{n}", qos=1).wait_for_publish(5)
        until(lambda: len(got_a) + len(got_b) == 6)
        in_flight = list(got_a)
        assert in_flight and got_b  # turn about

        a.loop_stop()
        a.socket().close()  # killed: no DISCONNECT, three messages never acknowledged
        time.sleep(0.5)
        for n in range(6, 12):
            publisher.publish("t/x", f"m{n}", qos=1).wait_for_publish(5)
        time.sleep(0.5)
        # B got only its own turn; A's waits for A.
        assert len(got_b) == 6

        again: list[str] = []
        a = member(mosquitto, "member-a", again, ack=True)
        until(lambda: len(again) == 6)
        assert set(again) == set(in_flight) | ({f"m{n}" for n in range(6, 12)} - set(got_b))
    finally:
        for client in (a, b, publisher):
            client.loop_stop()
            client.disconnect()
