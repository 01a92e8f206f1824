"""The gateway process killed with SIGKILL at random moments of a burst of presses, and
started again each time: at the end every press is stored once and delivered once, in the
order pressed per button. CHAOS_KILLS kills (3 here), at delays drawn from CHAOS_SEED
(printed; set it to replay a failure)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest

from drivers.mqtt.publisher import MqttPublisher
from tests.support.audit import assert_site_log_intact
from tests.support.chaos import (
    Ledger,
    assert_no_problem,
    bursting,
    chaos_seed,
    env_float,
    env_int,
    record,
    settle,
    wait_recovered,
)
from tests.support.gateway_process import GatewayProcess, launch_gateway
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker

KILLS = env_int("CHAOS_KILLS", 3)
INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.1)
MAX_UP_S = env_float("CHAOS_MAX_UP_S", 3.0)  # longest run between a restart and a kill

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(90 + KILLS * (MAX_UP_S + 15))
async def test_sigkill_at_random_points_of_a_burst_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    backend = "sqlite" if database[0].startswith("sqlite") else "postgresql"
    seed = chaos_seed()
    rng = random.Random(seed)
    ledger = Ledger()
    kills: list[dict[str, float | int]] = []
    # A centre that takes a little while to answer widens the window between an alarm's
    # acknowledgement by the police and its record, where a kill forces a repeat.
    async with police_centre(delay_s=0.02) as police:
        receipts = police.centre.receipts
        gateway = await launch_gateway(tmp_path, mosquitto, database, police.url, gateway_factory)
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=5) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            for _ in range(KILLS):
                up_s = rng.uniform(0.2, MAX_UP_S)
                down_s = rng.uniform(0.0, 1.0)
                await asyncio.sleep(up_s)
                gateway.kill()
                kills.append(
                    {"after_press": ledger.sent, "up_s": round(up_s, 2), "down_s": round(down_s, 2)}
                )
                await asyncio.sleep(down_s)
                gateway.start()
                await gateway.wait_connected()
            # The recovery counts from the last restart: connected, is its backlog through?
            recover_s = await wait_recovered(ledger, receipts, timeout_s=60)
            await asyncio.sleep(1)
            await burst.finish()
        outcome = await settle(ledger, database, receipts, timeout_s=30)
        outcome.recover_s = recover_s
        outcome.extra = {"kills": kills}
    record(
        f"sigkill-burst[{backend}]",
        outcome,
        {"kills": KILLS, "interval_s": INTERVAL_S, "max_up_s": MAX_UP_S, "seed": seed},
    )
    assert_no_problem(outcome, gateway.log)
    assert len(kills) == KILLS
    gateway.stop()
    await assert_site_log_intact(*database)
