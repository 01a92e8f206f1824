"""One bad message costs itself, never another school's alarm (issue 17). A message whose
text no database can store is refused at decode; one that reaches the database and is
refused there is set apart from its batch, refused alone and acknowledged; the alarms sent
after it, of every school, are stored and reach the centre. SQLite and PostgreSQL, a real
Mosquitto, a real police centre over HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.storage.models import Event
from simulators.button import press_button
from tests.integration.test_alarm_linkage import PREFIX, context_of, running_gateway
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto

SCHOOLS = {"fy-dongguan-ms": ["btn-north", "btn-office"], "fy-shiyan-kg": ["btn-gate"]}

# Valid JSON and valid UTF-8 whose text SQLite cannot encode (a lone surrogate) or PostgreSQL
# cannot store (NUL): before the fix each was retried forever ahead of every later alarm.
POISON = [
    (f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/event", '"id": "\\ud800"'),
    (f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/event", '"id": "x\\u0000y"'),
    (f"{PREFIX}/fy-shiyan-kg/alarm/btn-gate/event", '"id": "\\udfff\\u0000"'),
]
POISON_SCANS = [
    (f"{PREFIX}/fy-dongguan-ms/checkpoint/cp-dorm/scan", '"guard": "\\ud800", "tag": "t"'),
    (f"{PREFIX}/fy-dongguan-ms/checkpoint/cp-dorm/scan", '"guard": "g", "tag": "a\\u0000"'),
]


def poison_body(fields: str, event: str | None = "press") -> str:
    now = datetime.now(UTC).isoformat()
    head = f'"event": "{event}", ' if event else ""
    return "{" + head + f'"ts": "{now}", {fields}' + "}"


def metric(app: object, line: str) -> float:
    for text in context_of(app).metrics.render().decode().splitlines():  # type: ignore[arg-type]
        if text.startswith(line + " "):
            return float(text.split()[-1])
    return 0.0


async def test_poison_first_then_every_school_alarm_arrives(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
        MqttPublisher(mosquitto.url, client_id="hostile") as hostile,
        MqttPublisher(mosquitto.url, client_id="buttons") as buttons,
    ):
        for topic, fields in POISON:
            await hostile.publish(topic, poison_body(fields), qos=1)
        for topic, fields in POISON_SCANS:
            await hostile.publish(topic, poison_body(fields, event=None), qos=1)
        sent = []
        for school, devices in SCHOOLS.items():
            for button in devices:
                payload = await press_button(buttons, prefix=PREFIX, school=school, button=button)
                sent.append(payload["id"])
        await eventually(
            lambda: {r.source_id for r in centre.centre.receipts} == set(sent),
            what="every school's presses after the poison",
        )
        assert metric(app, 'campus_events_rejected_total{reason="bad_text"}') == 5
        async with context_of(app).sessions() as session:
            stored = (await session.execute(select(Event.message_id))).scalars().all()
        assert sorted(stored) == sorted(sent)
        ready = context_of(app).health.snapshot()
        assert ready["database"].up


def event(school: str, button: str, message_id: str) -> DeviceEvent:
    now = datetime.now(UTC)
    topic = f"{PREFIX}/{school}/alarm/{button}/event"
    body = json.dumps({"event": "press", "ts": now.isoformat(), "id": message_id})
    return DeviceEvent(
        device=DeviceRef(school, DeviceKind.ALARM, button),
        kind=EventKind.PRESS,
        message_id=message_id,
        occurred_at=now,
        received_at=now,
        transport=Transport.MQTT,
        topic=topic,
        raw_payload=body,
    )


async def test_a_message_the_database_refuses_is_refused_alone(
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The storage boundary's own guard, behind decode's: events that passed no decode (as a
    future source might hand over) reach the database in one batch with good ones."""
    url, _ = database
    # What each database refuses: both cannot encode a lone surrogate; only PostgreSQL
    # refuses NUL (SQLite stores it).
    refused = ["\ud800-id"] + (["nul-\x00-id"] if url.startswith("postgresql") else [])
    good = [f"good-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    batch = [
        event("fy-dongguan-ms", "btn-north", good[0]),
        *[event("fy-dongguan-ms", "btn-north", bad) for bad in refused],
        event("fy-shiyan-kg", "btn-gate", good[1]),
        event("fy-dongguan-ms", "btn-office", good[2]),
    ]
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
    ):
        runtime = app.state.runtime
        new = await runtime.devices.submit(batch)
        assert [e.message_id for e in new] == good
        await eventually(
            lambda: {r.source_id for r in centre.centre.receipts} == set(good),
            what="the good presses of the refused batch",
        )
        assert metric(app, 'campus_events_rejected_total{reason="storage_refused"}') == len(refused)
        assert context_of(app).health.snapshot()["database"].up
    refusals = [r.getMessage() for r in caplog.records if "storage_refused" in r.getMessage()]
    assert len(refusals) == len(refused)
    replay = json.loads(refusals[0].split("replay: ", 1)[1])
    assert replay["topic"] == f"{PREFIX}/fy-dongguan-ms/alarm/btn-north/event"
    assert "ALARM NOT STORED" in caplog.text
