"""Duplicates are the same message, nothing else (issue 17): a copy of a stored message
(same device, id and content) is dropped; a device that uses a known id for another message
(a restore numbered like the next press, a counter restarted after a power loss) has that
message stored and counted as `id_reused`, and a press among them reaches the centre.
SQLite and PostgreSQL, a real Mosquitto, a real police centre."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from drivers.mqtt.publisher import MqttPublisher
from gateway.patrol.tokens import sign_tag
from gateway.storage.models import Event, PatrolScan
from simulators.button import press_button
from tests.integration.test_alarm_linkage import PREFIX, context_of, running_gateway
from tests.integration.test_poison_messages import metric
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker

pytestmark = pytest.mark.mosquitto
SCHOOL = "fy-dongguan-ms"


async def test_a_reused_id_is_another_message_and_a_copy_is_not(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=30)
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
        MqttPublisher(mosquitto.url, client_id="btn-north") as button,
    ):

        async def send(event: str, message_id: str, at: datetime) -> None:
            await press_button(
                button,
                prefix=PREFIX,
                school=SCHOOL,
                button="btn-north",
                event=event,
                message_id=message_id,
                at=at,
            )

        await send("restore", "7", start)  # the restore numbered like the next press
        await send("press", "7", start + timedelta(seconds=1))
        await send("press", "7", start + timedelta(seconds=1))  # a redelivered copy
        await send("press", "1", start + timedelta(seconds=2))
        await send("press", "1", start + timedelta(seconds=9))  # counter restarted
        await eventually(lambda: len(centre.centre.receipts) == 3, what="three presses")
        await eventually(
            lambda: metric(app, 'campus_events_duplicate_total{transport="mqtt"}') == 1,
            what="the copy counted",
        )
        assert metric(app, 'campus_events_id_reused_total{transport="mqtt"}') == 2
        assert [r.source_id for r in centre.centre.receipts] == ["7", "1", "1"]
        async with context_of(app).sessions() as session:
            stored = (
                await session.execute(select(Event.message_id, Event.kind).order_by(Event.id))
            ).all()
        assert [tuple(row) for row in stored] == [
            ("7", "restore"),
            ("7", "press"),
            ("1", "press"),
            ("1", "press"),
        ]


async def test_a_reader_scan_under_a_reused_id_is_recorded_too(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    async with (
        police_centre() as centre,
        running_gateway(mosquitto, database, {"city-110": centre.url}) as app,
        MqttPublisher(mosquitto.url, client_id="reader") as reader,
    ):
        settings = context_of(app).settings
        tag = sign_tag(settings.patrol, SCHOOL, "cp-dorm")
        first = datetime.now(UTC) - timedelta(hours=3)
        topic = f"{PREFIX}/{SCHOOL}/checkpoint/cp-dorm/scan"
        for at in (first, first + timedelta(hours=2), first + timedelta(hours=2)):
            body = {"ts": at.isoformat(), "id": "42", "guard": "guard-li", "tag": tag}
            await reader.publish(topic, json.dumps(body), qos=1)

        async def scans() -> list[tuple[str, bool]]:
            async with context_of(app).sessions() as session:
                rows = await session.execute(
                    select(PatrolScan.message_id, PatrolScan.accepted).order_by(PatrolScan.id)
                )
                return [tuple(row) for row in rows.all()]  # type: ignore[misc]

        async def two() -> bool:
            return len(await scans()) == 2

        await eventually(two, what="two scans under one id")
        await eventually(
            lambda: metric(app, 'campus_events_duplicate_total{transport="mqtt"}') == 1,
            what="the copy counted",
        )
        recorded = await scans()
        assert recorded[0] == ("42", True)
        assert recorded[1][0].startswith("42~") and recorded[1][1] is True
