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
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.storage.models import Alarm, Event
from simulators.button import press_button
from tests.integration.test_alarm_linkage import PREFIX, context_of, running_gateway
from tests.integration.test_api_hostile_text import WRITES, filled
from tests.integration.test_poison_messages import POISON, POISON_SCANS, metric, poison_body
from tests.integration.test_rbac_table import ACCOUNTS, OPERATIONS, PASSWORD, add_accounts
from tests.support.hostile import draw_batches, draw_requests
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


def well_formed(route: tuple[str, str], text: str) -> Any:
    """The route's JSON body with `text` in every string (`{}` for a route without one)."""
    content = OPERATIONS[route].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return {} if schema is None else filled(schema, text)


@pytest.mark.timeout(600)
async def test_hostile_requests_get_a_clear_answer_and_never_hold_an_alarm(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    """Hostile JSON to every write route of the API, by every role, while the alarm path
    runs: never a 5xx, and a valid press after every batch reaches the centre."""
    writes = [route for route in WRITES if "application/json" in str(OPERATIONS[route])]
    batches = draw_requests(EXAMPLES, SEED, writes, well_formed)
    sent: list[str] = []
    failures: list[str] = []
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
        MqttPublisher(mosquitto.url, client_id="buttons") as buttons,
    ):
        await add_accounts(context_of(app))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            tokens = {}
            for username in ACCOUNTS:
                answer = await http.post(
                    "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
                )
                tokens[username] = answer.json()["access_token"]
            for number, batch in enumerate(batches):
                for step, (method, path, body) in enumerate(batch):
                    caller = list(ACCOUNTS)[(number + step) % len(ACCOUNTS)]
                    answer = await http.request(
                        method,
                        path,
                        content=body,
                        headers={
                            "Authorization": f"Bearer {tokens[caller]}",
                            "Content-Type": "application/json",
                        },
                    )
                    if answer.status_code >= 500:
                        failures.append(f"{caller} {method} {path} {body[:300]!r}: {answer.text}")
                    elif answer.status_code == 422:
                        assert answer.json()["detail"], "a 422 says what is wrong"
                school, button = BUTTONS[number % len(BUTTONS)]
                press = await press_button(buttons, prefix=PREFIX, school=school, button=button)
                sent.append(press["id"])
                await eventually(
                    lambda press=press: (
                        press["id"] in {r.source_id for r in centre.centre.receipts}
                    ),
                    timeout_s=15,
                    what=f"the valid press after request batch {number} (seed {SEED})",
                )
            assert not failures, "\n".join(failures[:10])
            assert Counter(
                r.source_id for r in centre.centre.receipts if r.source_id in sent
            ) == Counter(sent)
            ready = await http.get("/readyz")
            assert ready.status_code == 200, ready.text
