"""Every webhook attempt has one deadline and reads a bounded answer (issue 17, point 4):
against hand-written endpoints on 127.0.0.1 that trickle their answer a byte every 0.5 s or
never end their body. A trickled answer fails the attempt at the deadline and /readyz shows the
endpoint down; the button's next press waits at most about that deadline behind it; an endless
body is read up to the cap and no further."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from drivers.mqtt.publisher import MqttPublisher
from gateway.app import create_app
from gateway.context import GatewayContext
from gateway.errors import DeliveryFailed
from gateway.linkage.senders import ANSWER_READ_LIMIT, OutgoingAlarm, WebhookSender
from gateway.settings import WebhookEndpoint, parse_settings
from simulators.button import press_button
from tests.support.hostile_police import hostile_endpoint
from tests.support.police import eventually
from tests.support.services import MosquittoBroker
from tests.support.site import SECRET, site_tree

DEADLINE_S = 1.5
SLACK_S = 2.5  # scheduling allowance on a loaded two-core machine
# What an endless body may have pushed into the loopback socket buffers before the gateway
# hung up (the kernel's, not the gateway's memory); reading it whole would be gigabytes.
SOCKET_BUFFERS = 32 << 20


def endpoint(url: str, timeout_s: float = DEADLINE_S) -> WebhookEndpoint:
    return WebhookEndpoint(
        id="city-110", kind="webhook", url=url, secret=SECRET, timeout_s=timeout_s
    )


def alarm(alarm_id: str = "alm-1") -> OutgoingAlarm:
    body = f'{{"alarm_id": "{alarm_id}"}}'.encode()
    return OutgoingAlarm(alarm_id, "emergency", body, zone=1, occurred_at=datetime.now(UTC))


async def test_a_trickled_answer_fails_the_attempt_at_its_deadline() -> None:
    async with hostile_endpoint(trickle=True) as police:
        sender = WebhookSender(endpoint(police.url))
        try:
            started = time.monotonic()
            # Without a deadline per attempt, this answer (a 200, a byte per 0.5 s) took
            # two minutes, and acknowledged.
            async with asyncio.timeout(DEADLINE_S + SLACK_S):
                with pytest.raises(DeliveryFailed) as failed:
                    await sender.send(alarm())
            elapsed = time.monotonic() - started
        finally:
            await sender.aclose()
    assert failed.value.detail == "no complete answer within 1.5 s (waiting for the answer)"
    assert elapsed >= DEADLINE_S - 0.1
    assert police.received == ["alm-1"] and police.answered == []


@pytest.mark.parametrize("status", [200, 503])
async def test_an_endless_body_is_read_up_to_the_cap(status: int) -> None:
    async with hostile_endpoint(endless_status=status) as police:
        sender = WebhookSender(endpoint(police.url))
        try:
            async with asyncio.timeout(DEADLINE_S + SLACK_S):
                if status == 200:
                    receipt = await sender.send(alarm())
                    assert receipt.status == 200
                    assert receipt.response == "x" * 500  # the first characters
                else:
                    with pytest.raises(DeliveryFailed) as failed:
                        await sender.send(alarm())
                    assert failed.value.status == 503
                    assert failed.value.detail == "HTTP 503: " + "x" * 500
                # The gateway hung up after the cap: the endpoint could not write on.
                await eventually(lambda: police.finished == 1, 2, "the endpoint to be cut off")
        finally:
            await sender.aclose()
    assert len(police.written) == 1
    assert ANSWER_READ_LIMIT <= police.written[0] < SOCKET_BUFFERS


# Through the gateway: the outbox, the health board and /readyz. ------------------------

PREFIX = "campus"


def context_of(app: FastAPI) -> GatewayContext:
    context: GatewayContext = app.state.context
    return context


async def readyz(app: FastAPI) -> tuple[int, dict[str, Any]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        response = await client.get("/readyz")
    return response.status_code, response.json()


@pytest.mark.mosquitto
async def test_a_stuck_attempt_shows_down_and_the_next_press_waits_at_most_its_deadline(
    mosquitto: MosquittoBroker, database: tuple[str, str | None]
) -> None:
    url, schema = database
    async with hostile_endpoint(trickle=True) as police:
        tree = site_tree(
            mqtt_url=mosquitto.url,
            database_url=url,
            database_schema=schema,
            police_urls={"city-110": police.url},
        )
        tree["police"][0]["timeout_s"] = DEADLINE_S
        app = create_app(parse_settings(tree))
        async with (
            LifespanManager(app, startup_timeout=30, shutdown_timeout=30),
            MqttPublisher(mosquitto.url, client_id="test-buttons") as publisher,
        ):
            health = context_of(app).health
            await eventually(
                lambda: all(s.up for n, s in health.snapshot().items() if n.startswith("broker")),
                what="the gateway to connect to the broker",
            )
            for _ in range(2):  # two presses of one button: the second waits in its lane
                await press_button(
                    publisher, prefix=PREFIX, school="fy-dongguan-ms", button="btn-office"
                )
            await eventually(lambda: len(police.received) == 1, 10, "the first press to be sent")
            # Without a deadline per attempt, the trickled attempt stayed in flight, and
            # /readyz up, for two minutes.
            await eventually(
                lambda: not health.snapshot()["police:city-110"].up,
                DEADLINE_S + SLACK_S,
                "the endpoint to be down at the attempt's deadline",
            )
            status, body = await readyz(app)
            assert status == 503 and body["ready"] is False
            check = body["checks"]["police:city-110"]
            assert check["up"] is False
            assert check["detail"] == "no complete answer within 1.5 s (waiting for the answer)"

            # The endpoint answers again: an attempt in flight ends at its deadline at the
            # latest, the retry (backoff at most 0.5 s) and the second press follow at once.
            police.trickle = False
            await eventually(
                lambda: len(police.answered) == 2,
                DEADLINE_S + 0.5 + SLACK_S,
                "both presses to be answered",
            )
            assert len(set(police.answered)) == 2
            # In order: the first press's retries, then the second (never before the first).
            first = police.answered[0]
            assert set(police.received[: police.received.index(police.answered[1])]) == {first}
            await eventually(lambda: health.snapshot()["police:city-110"].up, 5, "recovery")
            status, body = await readyz(app)
            assert body["checks"]["police:city-110"]["up"] is True
