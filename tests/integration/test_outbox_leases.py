"""Outbox leases between gateway instances (gateway/storage/leases.py) on a real PostgreSQL:
the instance that stores a delivery claims it when its lane allows, renews it, loses it to
another once it expires, and a lane is never split between two instances."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.settings import parse_settings
from gateway.storage.database import create_engine
from gateway.storage.delivery_outcomes import record_acknowledged
from gateway.storage.leases import LeaseHolder, hold_deliveries, release, renew, take_over
from gateway.storage.migrate import upgrade_database
from gateway.storage.models import PoliceDelivery
from gateway.storage.writer import DatabaseWriter
from gateway.storage.writes import create_alarm, event_key, insert_events
from tests.support.audit import assert_log_intact

SETTINGS = parse_settings(
    {
        "schools": [
            {
                "id": "fy-dongguan-ms",
                "name": "汾阳市东关中学",
                "alarm_buttons": [
                    {"id": "btn-north", "location": "北门警务室", "zone": 1},
                    {"id": "btn-gate", "location": "大门", "zone": 2},
                ],
            }
        ]
    }
)
SCHOOL = SETTINGS.schools[0]
ENDPOINTS = ["city-110", "county-110"]


@dataclass
class Instance:
    """One gateway's view of the database: its own engine, claiming as `holder`."""

    holder: LeaseHolder
    engine: AsyncEngine
    writer: DatabaseWriter

    async def press(self, message_id: str, button: str = "btn-north") -> list[PoliceDelivery]:
        event = press(message_id, button)

        def store(connection: Connection) -> list[PoliceDelivery]:
            ids = insert_events(connection, [event])
            _, deliveries = create_alarm(
                connection,
                event_id=ids[event_key(event)],
                event=event,
                school=SCHOOL,
                button=SCHOOL.button(button),  # type: ignore[arg-type]
                endpoint_ids=ENDPOINTS,
            )
            return deliveries

        return await self.writer.run(store, urgent=True)

    async def take(
        self, *, include_own: bool = False, known: frozenset[int] = frozenset()
    ) -> list[int]:
        page = await self.writer.run(
            partial(
                take_over,
                holder=self.holder,
                endpoint_ids=ENDPOINTS,
                known=known,
                include_own=include_own,
            )
        )
        return [item.delivery.id for item in page.taken]

    async def renew(self, ids: set[int]) -> set[int]:
        return await self.writer.run(partial(renew, holder=self.holder, ids=ids))


def press(message_id: str, button: str) -> DeviceEvent:
    now = datetime.now(UTC)
    return DeviceEvent(
        device=DeviceRef("fy-dongguan-ms", DeviceKind.ALARM, button),
        kind=EventKind.PRESS,
        message_id=message_id,
        occurred_at=now,
        received_at=now + timedelta(milliseconds=50),
        transport=Transport.MQTT,
        topic=f"campus/fy-dongguan-ms/alarm/{button}/event",
        raw_payload='{"event":"press"}',
    )


@pytest.fixture
async def pair(
    postgres_database: tuple[str, str | None],
) -> AsyncIterator[tuple[Instance, Instance]]:
    """Two instances, A and B, on one fresh schema; leases of 1 s (the tests wait them out)."""
    url, schema = postgres_database
    made: list[tuple[Instance, Callable[[], None]]] = []
    for name in ("gw-a", "gw-b"):
        engine = create_engine(url, schema=schema)
        if not made:
            await upgrade_database(engine)
        holder = LeaseHolder(name, 1.0)
        release = hold_deliveries(engine, holder)
        made.append((Instance(holder, engine, DatabaseWriter(engine)), release))
    try:
        yield made[0][0], made[1][0]
        await assert_log_intact(made[0][0].engine)  # leases are not the record: still intact
    finally:
        for instance, release in made:
            release()
            await instance.writer.aclose()
            await instance.engine.dispose()


async def claims(engine: AsyncEngine) -> dict[int, str | None]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(PoliceDelivery.id, PoliceDelivery.claimed_by))
        return {row.id: row.claimed_by for row in rows}


async def acknowledge(instance: Instance, ids: list[int]) -> None:
    for delivery_id in ids:
        await instance.writer.run(
            partial(
                record_acknowledged,
                delivery_id=delivery_id,
                at=datetime.now(UTC),
                latency_s=0.1,
                status=200,
                response="ok",
            )
        )


async def test_the_instance_that_stores_an_alarm_claims_its_deliveries(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    deliveries = await a.press("p1")
    assert {d.endpoint_id for d in deliveries} == set(ENDPOINTS)
    assert all(d.claimed_by == "gw-a" and d.claimed_until is not None for d in deliveries)
    assert set((await claims(a.engine)).values()) == {"gw-a"}
    # A live lease is nobody else's to take, not even at B's start.
    assert await b.take() == []
    assert await b.take(include_own=True) == []


async def test_a_press_behind_another_instances_lease_waits_unclaimed_for_the_lane_holder(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    first = await a.press("p1")
    second = await b.press("p2")  # same button, A's deliveries still open
    assert all(d.claimed_by is None for d in second)
    third = await a.press("p3")  # A may not jump ahead of p2 either
    assert all(d.claimed_by is None for d in third)
    other = await b.press("q1", button="btn-gate")  # another lane is free
    assert all(d.claimed_by == "gw-b" for d in other)
    # B cannot take the lane A holds; A takes the rest of its lane, in order.
    assert await b.take() == []
    known = frozenset(d.id for d in first)
    taken = await a.take(known=known)
    assert taken == sorted(d.id for d in second + third)
    assert {i: c for i, c in (await claims(a.engine)).items() if i in taken} == dict.fromkeys(
        taken, "gw-a"
    )


async def test_leases_are_renewed_and_expired_ones_are_taken_over_whole(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    first = await a.press("p1")
    second = await b.press("p2")  # unclaimed, behind A's lease
    held = {d.id for d in first}
    await asyncio.sleep(0.6)
    assert await a.renew(held) == held  # renewed before expiry: still A's
    await asyncio.sleep(0.6)
    assert await b.take() == []  # 1.2 s after the claim, but renewed 0.6 s ago
    await asyncio.sleep(0.6)  # A stops renewing (it died)
    taken = await b.take()
    assert taken == sorted(d.id for d in first + second)  # the whole lane, oldest first
    assert set((await claims(b.engine)).values()) == {"gw-b"}
    # A comes back to life: its renewal finds nothing, so it drops them.
    assert await a.renew(held) == set()


async def test_a_restarted_instance_resumes_its_own_leases_at_once(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    first = await a.press("p1")
    # The same instance id after a restart: its live leases are its own again.
    assert await a.take(include_own=True) == sorted(d.id for d in first)
    assert await b.take(include_own=True) == []


async def test_acknowledged_deliveries_free_the_lane_for_the_next_claimant(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    first = await a.press("p1")
    await acknowledge(a, [d.id for d in first])
    second = await b.press("p2")
    assert all(d.claimed_by == "gw-b" for d in second)
    # Acknowledged, yet still A's (not lost to anyone): a renewal racing the record of an
    # acknowledgement does not report it as taken over.
    assert await a.renew({d.id for d in first}) == {d.id for d in first}


async def test_a_clean_stop_lets_the_others_take_over_at_once(
    pair: tuple[Instance, Instance],
) -> None:
    a, b = pair
    first = await a.press("p1")
    await a.writer.run(partial(release, holder=a.holder))
    assert await b.take() == sorted(d.id for d in first)


async def test_an_acknowledgement_recorded_twice_keeps_the_first(
    pair: tuple[Instance, Instance],
) -> None:
    a, _ = pair
    (delivery, *_) = await a.press("p1")
    first, second = datetime.now(UTC), datetime.now(UTC) + timedelta(seconds=5)
    for at, latency in ((first, 0.2), (second, 5.2)):
        await a.writer.run(
            partial(
                record_acknowledged,
                delivery_id=delivery.id,
                at=at,
                latency_s=latency,
                status=200,
                response="ok",
            )
        )
    async with a.engine.connect() as conn:
        row = (
            await conn.execute(
                select(
                    PoliceDelivery.acknowledged_at,
                    PoliceDelivery.latency_s,
                    PoliceDelivery.attempts,
                ).where(PoliceDelivery.id == delivery.id)
            )
        ).one()
    assert (row.acknowledged_at, row.latency_s, row.attempts) == (first, 0.2, 2)
