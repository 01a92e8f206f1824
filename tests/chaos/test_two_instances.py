"""Scale-out: two gateway processes on one Mosquitto (telemetry in a `$share` group, alarms to
both) and one PostgreSQL schema. In the middle of a burst of presses an instance is killed
with SIGKILL and started again with the same instance id, as systemd or compose would: first
the leader, within its outbox lease (it resumes its own lanes when it is back); then, while the
centre refuses everything for a moment so that alarms pile up, the instance holding most of
them, for longer than the lease (the survivor takes its lanes over once the lease runs out).

Every press the broker acknowledged must be recorded once and received by the centre as one
alarm, each button's in the order pressed, and both instances must have done part of the
work (recorded presses, forwarded alarms). The centre may see an alarm twice with the same
Idempotency-Key (killed between its answer and the record, or a lease taken over mid-send):
counted as `resent_same_key`, allowed. CHAOS_SEED replays the timing."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from drivers.mqtt.publisher import MqttPublisher
from gateway.storage.database import create_engine
from gateway.storage.models import PoliceDelivery
from tests.support.audit import assert_site_log_intact
from tests.support.chaos import (
    Ledger,
    assert_no_problem,
    bursting,
    chaos_seed,
    env_float,
    record,
    settle,
    wait_recovered,
)
from tests.support.cluster import LEASE_S, Instance, launch_cluster, leader_of
from tests.support.gateway_process import GatewayProcess
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker

INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.1)
MAX_UP_S = env_float("CHAOS_MAX_UP_S", 3.0)  # longest run of the pair before the kill

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(150)
async def test_two_instances_share_the_work_and_lose_nothing_when_one_is_killed(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    postgres_database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    seed = chaos_seed()
    rng = random.Random(seed)
    ledger = Ledger()
    kills: list[dict[str, object]] = []
    async with police_centre(delay_s=0.02) as police:
        receipts = police.centre.receipts
        pair = await launch_cluster(
            tmp_path, ["gw-a", "gw-b"], mosquitto, postgres_database, police.url, gateway_factory
        )
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=5) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            await asyncio.sleep(rng.uniform(1.0, MAX_UP_S))
            kills.append(await kill(await leader_of(pair), pair, ledger, rng.uniform(0.2, 1.0)))
            await asyncio.sleep(rng.uniform(1.0, MAX_UP_S))
            police.centre.set_failing(True)
            await asyncio.sleep(1.0)
            holder, held = await most_leases(pair, postgres_database)
            police.centre.set_failing(False)
            long_down_s = rng.uniform(LEASE_S + 0.5, LEASE_S + 1.5)
            kills.append(await kill(holder, pair, ledger, long_down_s))
            recover_s = await wait_recovered(ledger, receipts, timeout_s=30)
            await asyncio.sleep(1)
            await burst.finish()
        outcome = await settle(ledger, postgres_database, receipts, timeout_s=20)
        outcome.recover_s = recover_s
        stored = {i.instance_id: len(set(i.stored()) & ledger.acked) for i in pair}
        delivered = {i.instance_id: len(set(i.delivered())) for i in pair}
        taken_over = {i.instance_id: i.taken_over() for i in pair}
        delivered_held = await delivered_by(postgres_database, held)
        outcome.extra = {
            "kills": kills,
            "stored_by": stored,
            "delivered_by": delivered,
            "taken_over_by": taken_over,
            "held_at_second_kill_delivered_by": delivered_held,
        }
    record(
        "two-instances[postgresql]",
        outcome,
        {"interval_s": INTERVAL_S, "max_up_s": MAX_UP_S, "seed": seed},
    )
    assert_no_problem(outcome, pair[0].log)
    # Both did part of the work: recorded presses and forwarded alarms.
    assert all(stored.values()), f"an instance recorded no press: {stored}"
    assert all(delivered.values()), f"an instance forwarded no alarm: {delivered}"
    # The second kill outlasted the lease: the survivor took the dead one's lanes over and
    # delivered what it held.
    survivor = next(i.instance_id for i in pair if i.instance_id != kills[1]["killed"])
    assert delivered_held.get(survivor, 0) > 0, delivered_held
    for instance in pair:
        instance.stop()
    await assert_site_log_intact(*postgres_database)


async def kill(
    victim: Instance, pair: list[Instance], ledger: Ledger, down_s: float
) -> dict[str, object]:
    """SIGKILL `victim`; the other must lead while it is away; start it again after
    `down_s` with the same instance id."""
    survivor = next(i for i in pair if i is not victim)
    victim.kill()
    killed_after = ledger.sent
    await asyncio.sleep(down_s)
    assert await leader_of(pair) is survivor  # it tries every LEADER_RETRY_S
    victim.start()
    await victim.wait_connected()
    return {"killed": victim.instance_id, "after_press": killed_after, "down_s": round(down_s, 2)}


async def most_leases(
    pair: list[Instance], database: tuple[str, str | None]
) -> tuple[Instance, list[int]]:
    """The instance holding the most open deliveries, and those deliveries."""
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(PoliceDelivery.claimed_by, PoliceDelivery.id).where(
                    PoliceDelivery.acknowledged_at.is_(None),
                    PoliceDelivery.claimed_by.is_not(None),
                )
            )
            held: dict[str, list[int]] = {}
            for holder, delivery_id in rows.all():
                held.setdefault(str(holder), []).append(int(delivery_id))
    finally:
        await engine.dispose()
    assert held, "no open delivery while the centre refused everything"
    most = max(pair, key=lambda i: len(held.get(i.instance_id, [])))
    return most, held[most.instance_id]


async def delivered_by(database: tuple[str, str | None], ids: list[int]) -> dict[str, int]:
    """Who holds these deliveries now that they are acknowledged: who delivered them."""
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(PoliceDelivery.claimed_by, func.count())
                .where(PoliceDelivery.id.in_(ids), PoliceDelivery.acknowledged_at.is_not(None))
                .group_by(PoliceDelivery.claimed_by)
            )
            return {str(holder): int(count) for holder, count in rows.all()}
    finally:
        await engine.dispose()
