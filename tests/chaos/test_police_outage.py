"""The police receiving centre down for minutes (every request answered 503) while presses
keep coming on several buttons: once it is back every alarm arrives exactly once, in the
order pressed per button. CHAOS_OUTAGE_S sets the outage (15 s here, 120 s in `make chaos`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from drivers.mqtt.publisher import MqttPublisher
from tests.support.audit import assert_site_log_intact
from tests.support.chaos import (
    Ledger,
    assert_no_problem,
    bursting,
    env_float,
    record,
    settle,
    wait_recovered,
)
from tests.support.gateway_process import GatewayProcess, launch_gateway
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker

OUTAGE_S = env_float("CHAOS_OUTAGE_S", 15)
INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.2)

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(90 + 2 * OUTAGE_S)
async def test_police_down_for_minutes_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    backend = "sqlite" if database[0].startswith("sqlite") else "postgresql"
    ledger = Ledger()
    async with police_centre() as police:
        receipts = police.centre.receipts
        gateway = await launch_gateway(tmp_path, mosquitto, database, police.url, gateway_factory)
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=5) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            await asyncio.sleep(2)  # some alarms go through before the outage
            police.centre.set_failing(True)
            before = len(receipts)
            await asyncio.sleep(OUTAGE_S)
            # Nothing can have been accepted by a centre that answers 503 to everything.
            assert len(receipts) == before
            during = len(ledger.acked)
            police.centre.set_failing(False)
            recover_s = await wait_recovered(ledger, receipts, timeout_s=60 + OUTAGE_S)
            await asyncio.sleep(1)  # presses after the outage go straight through again
            await burst.finish()
        outcome = await settle(ledger, database, receipts, timeout_s=30)
        outcome.recover_s = recover_s
        outcome.extra = {"acked_before_recovery": during, "gateway_alive": gateway.alive}
    record(
        f"police-outage[{backend}]",
        outcome,
        {"outage_s": OUTAGE_S, "interval_s": INTERVAL_S},
    )
    assert_no_problem(outcome, gateway.log)
    assert gateway.alive, gateway.log.read_text()[-3000:]
    assert outcome.sent > OUTAGE_S / INTERVAL_S / 2, "too few presses to mean anything"
    gateway.stop()
    assert "Traceback" not in gateway.log.read_text(), gateway.log.read_text()[-3000:]
    await assert_site_log_intact(*database)
