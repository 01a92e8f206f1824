"""A press reaches a SIA DC-09 receiving centre and a webhook at once; a DC-09 centre that
goes silent is noticed within a supervision interval, with an alert to every school and in
/readyz. The gateway in-process against a private Mosquitto, both databases, the simulated
webhook centre and the simulated DC-09 receiver (TCP, encrypted)."""

from __future__ import annotations

import httpx
import pytest

from drivers.mqtt.publisher import MqttPublisher
from gateway.commands.users import add_user
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from simulators.button import press_button
from simulators.dc09_receiver import Dc09Receiver, Dc09ReceiverOptions
from tests.support.dc09 import serving
from tests.support.gateway import alert_listener, running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
KEY = "0123456789ABCDEF"  # AES-128: the 16 characters are the key bytes
ACCOUNT = "1A2B"


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], webhook: str, dc09_port: int
) -> Settings:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": webhook}
    )
    tree["police"].append(
        {
            "id": "110-dc09",
            "kind": "sia-dc09",
            "host": "127.0.0.1",
            "port": dc09_port,
            "transport": "tcp",
            "account": ACCOUNT,
            "key": KEY,
            "supervision_s": 0.5,
            "timeout_s": 0.5,
            "retry": {"initial_s": 0.1, "max_s": 0.5},
        }
    )
    return parse_settings(tree)


async def test_a_press_reaches_both_centres_and_a_silent_one_is_noticed(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    dc09 = Dc09Receiver(Dc09ReceiverOptions(port=0, key=KEY, accounts=frozenset({ACCOUNT})))
    async with (
        police_centre() as webhook,
        serving(dc09) as centre,
        alert_listener(mosquitto) as alerts,
    ):
        settings = settings_for(mosquitto, database, webhook.url, centre.port)
        async with running(settings) as app:
            await eventually(lambda: centre.nulls > 0, what="the first supervision NULL")
            async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                await press_button(
                    publisher, prefix="campus", school="fy-dongguan-ms", button="btn-office"
                )
                await press_button(
                    publisher,
                    prefix="campus",
                    school="fy-dongguan-ms",
                    button="btn-north",
                    event="test",
                )
            await eventually(lambda: len(centre.events) == 2, what="both at the DC-09 centre")
            await eventually(lambda: len(webhook.centre.receipts) == 2, what="both at the webhook")
            assert sorted((e.code, e.zone, e.account) for e in centre.events) == [
                ("PA", 2, ACCOUNT),  # btn-office is zone 2 of its school
                ("RX", 1, ACCOUNT),
            ]
            assert all(e.encrypted and not e.duplicate for e in centre.events)

            # The button's restore and a tamper go to the DC-09 centre only (PR, TA), in order
            # after the press; the webhook and the alarm list never see them.
            async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                for event in ("restore", "tamper"):
                    await press_button(
                        publisher,
                        prefix="campus",
                        school="fy-dongguan-ms",
                        button="btn-office",
                        event=event,
                    )
            await eventually(lambda: len(centre.events) == 4, what="PR and TA at the centre")
            assert [(e.code, e.zone) for e in centre.events[2:]] == [("PR", 2), ("TA", 2)]
            assert len(webhook.centre.receipts) == 2

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                await add_user(
                    settings,
                    role=Role.POLICE,
                    username="officer",
                    password="police-pass-1",
                    school_id=None,
                )
                token = (
                    await http.post(
                        "/api/v1/auth/token",
                        data={"username": "officer", "password": "police-pass-1"},
                    )
                ).json()["access_token"]
                listed = await http.get(
                    "/api/v1/alarms", headers={"Authorization": f"Bearer {token}"}
                )
                assert sorted(a["kind"] for a in listed.json()) == ["emergency", "test"]

                ready = (await http.get("/readyz")).json()
                assert ready["checks"]["police-link:110-dc09"]["up"] is True

                # The centre goes silent: noticed within about one supervision interval.
                centre.set_silent(True)
                await eventually(
                    lambda: (
                        {a["school_id"] for a in alerts if a["kind"] == "police_link_down"}
                        == {"fy-dongguan-ms", "fy-shiyan-kg"}
                    ),
                    timeout_s=10,
                    what="police_link_down for every school",
                )
                down = next(a for a in alerts if a["kind"] == "police_link_down")
                assert down["subject"] == {"kind": "police", "id": "110-dc09"}
                response = await http.get("/readyz")
                assert response.status_code == 503
                assert response.json()["checks"]["police-link:110-dc09"]["up"] is False

                # A press while it is silent still reaches the webhook centre at once.
                async with MqttPublisher(mosquitto.url, client_id="btn") as publisher:
                    await press_button(
                        publisher, prefix="campus", school="fy-shiyan-kg", button="btn-gate"
                    )
                await eventually(lambda: len(webhook.centre.receipts) == 3, what="webhook")

                centre.set_silent(False)
                await eventually(
                    lambda: any(a["kind"] == "police_link_up" for a in alerts),
                    timeout_s=10,
                    what="police_link_up",
                )
                # ... and the press held back reaches the DC-09 centre once it answers.
                await eventually(lambda: len(centre.events) >= 5, what="the held press")
                assert centre.events[-1].code == "PA"
