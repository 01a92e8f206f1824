"""A lane keeps its deliveries in id order even when a take-over brings older ones (scale-out),
never ahead of the one in flight; a delivery whose lease went elsewhere is dropped, but only
after its attempt in flight."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.health import HealthBoard
from gateway.linkage.outbox import EndpointWorker, PendingDelivery
from gateway.linkage.senders import OutgoingAlarm, WebhookSender
from gateway.metrics import GatewayMetrics
from gateway.settings import WebhookEndpoint, parse_settings
from gateway.storage.database import create_engine
from gateway.storage.writer import DatabaseWriter

AT = datetime(2026, 12, 1, tzinfo=UTC)
SETTINGS = parse_settings(
    {
        "schools": [{"id": "s1", "name": "一中"}],
        "police": [
            {"id": "city-110", "kind": "webhook", "url": "http://127.0.0.1:9/", "secret": "x" * 8}
        ],
    }
)


@pytest.fixture
async def w(tmp_path: Path) -> AsyncIterator[EndpointWorker]:
    """A worker that is never run: only its lanes are looked at."""
    endpoint = SETTINGS.police[0]
    assert isinstance(endpoint, WebhookEndpoint)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    writer = DatabaseWriter(engine)
    worker = EndpointWorker(
        WebhookSender(endpoint),
        endpoint.retry,
        writer,
        GatewayMetrics(),
        HealthBoard(),
        lambda: AT,
        random.Random(1),
        SETTINGS,
    )
    yield worker
    await worker.sender.aclose()
    await writer.aclose()
    await engine.dispose()


def delivery(delivery_id: int, lane: str = "s1/btn-1") -> PendingDelivery:
    return PendingDelivery(
        delivery_id=delivery_id,
        endpoint_id="city-110",
        lane=lane,
        alarm=OutgoingAlarm(f"a{delivery_id}", "emergency", b"{}", zone=1, occurred_at=AT),
        received_at=AT,
        next_attempt_at=AT,
        attempts=0,
    )


def lane(w: EndpointWorker, name: str = "s1/btn-1") -> list[int]:
    return [d.delivery_id for d in w._lanes.get(name, [])]


async def test_older_deliveries_taken_over_go_in_their_place(w: EndpointWorker) -> None:
    for delivery_id in (5, 9, 3, 7, 9):
        w.enqueue(delivery(delivery_id))
    assert lane(w) == [3, 5, 7, 9]
    assert w.known_ids == {3, 5, 7, 9}


async def test_never_ahead_of_the_one_in_flight(w: EndpointWorker) -> None:
    w.enqueue(delivery(5))
    w._in_flight.add("s1/btn-1")
    w.enqueue(delivery(2))
    assert lane(w) == [5, 2]


async def test_a_lost_lease_drops_the_delivery_after_its_attempt(w: EndpointWorker) -> None:
    for delivery_id in (1, 2, 3):
        w.enqueue(delivery(delivery_id))
    w.enqueue(delivery(4, lane="s1/btn-2"))
    w._in_flight.add("s1/btn-1")  # 1 is being sent
    w.drop({1, 3, 4})
    assert lane(w) == [1, 2] and lane(w, "s1/btn-2") == []
    assert w.known_ids == {1, 2}
    head = w._lanes["s1/btn-1"][0]
    assert head.lost
