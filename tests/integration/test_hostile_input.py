"""The hostile-input suite (issue 17): hypothesis draws what an attacker or a broken device
sends (surrogates, NUL, control characters, huge and deeply nested values, wrong types, far
past and future times, unknown and malformed topics), published over a real Mosquitto to a
running gateway on SQLite and on PostgreSQL, with a valid press of one of three buttons of
two schools after every batch. Each valid press must reach the police centre; at the end
each was stored once and delivered once, and the gateway is ready.

CAMPUS_HOSTILE_EXAMPLES batches (default 50) per database; CAMPUS_HOSTILE_SEED replays a
draw."""

from __future__ import annotations

import os
from collections import Counter

import httpx
import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.storage.models import Alarm, Event
from simulators.button import press_button
from tests.integration.test_alarm_linkage import PREFIX, context_of, running_gateway
from tests.integration.test_poison_messages import POISON, POISON_SCANS, metric, poison_body
from tests.support.hostile import draw_batches
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto
EXAMPLES = int(os.environ.get("CAMPUS_HOSTILE_EXAMPLES", "50"))
SEED = int(os.environ.get("CAMPUS_HOSTILE_SEED", "17"))
BUTTONS = [
    ("fy-dongguan-ms", "btn-north"),
    ("fy-shiyan-kg", "btn-gate"),
    ("fy-dongguan-ms", "btn-office"),
]


@pytest.mark.timeout(600)
async def test_hostile_messages_never_stop_delay_or_mislabel_a_valid_alarm(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    known = [(t, poison_body(f).encode()) for t, f in POISON] + [
        (t, poison_body(f, event=None).encode()) for t, f in POISON_SCANS
    ]
    batches = [known, *draw_batches(EXAMPLES, SEED)]
    assert len(batches) == EXAMPLES + 1
    sent: list[str] = []
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
        MqttPublisher(mosquitto.url, client_id="hostile") as hostile,
        MqttPublisher(mosquitto.url, client_id="buttons") as buttons,
    ):
        for number, batch in enumerate(batches):
            for topic, payload in batch:
                await hostile.publish(topic, payload, qos=1)
            school, button = BUTTONS[number % len(BUTTONS)]
            press = await press_button(buttons, prefix=PREFIX, school=school, button=button)
            sent.append(press["id"])
            await eventually(
                lambda press=press: press["id"] in {r.source_id for r in centre.centre.receipts},
                timeout_s=15,
                what=f"the valid press after hostile batch {number} (seed {SEED}): {batch!r:.600}",
            )
        receipts = Counter(r.source_id for r in centre.centre.receipts if r.source_id in sent)
        assert receipts == Counter(sent), "each valid press received once"
        assert all(r.kind == "emergency" for r in centre.centre.receipts if r.source_id in sent), (
            "a valid press is an emergency"
        )
        async with context_of(app).sessions() as session:
            events = Counter(
                (await session.execute(select(Event.message_id).where(Event.message_id.in_(sent))))
                .scalars()
                .all()
            )
            alarms = Counter(
                (await session.execute(select(Alarm.source_id).where(Alarm.source_id.in_(sent))))
                .scalars()
                .all()
            )
        assert events == Counter(sent) and alarms == Counter(sent), "each stored once"
        assert metric(app, 'campus_events_rejected_total{reason="bad_text"}') >= len(known)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
