"""PostgreSQL (a cluster of the test's own, never the shared server) stopped in the middle of
a burst of presses and started again after CHAOS_PG_DOWN_S (5 s here): the gateway keeps
retrying, acknowledges nothing it could not store (the broker keeps those presses), and once
the database is back every press is stored once and delivered once, in order per button."""

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
from tests.support.postgres_cluster import PostgresCluster
from tests.support.services import MosquittoBroker

DOWN_S = env_float("CHAOS_PG_DOWN_S", 5)
INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.1)

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(120 + 2 * DOWN_S)
async def test_postgres_restart_mid_burst_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    own_postgres: PostgresCluster,
    gateway_factory: list[GatewayProcess],
) -> None:
    database = (own_postgres.url, None)
    ledger = Ledger()
    async with police_centre(delay_s=0.02) as police:
        receipts = police.centre.receipts
        gateway = await launch_gateway(tmp_path, mosquitto, database, police.url, gateway_factory)
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=5) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            await asyncio.sleep(2)
            # Fast shutdown: every session is cut at once, mid-transaction for some.
            await asyncio.to_thread(own_postgres.stop)
            stored_when_down = len(receipts)
            await asyncio.sleep(DOWN_S)
            down_seen = (await gateway.readyz() or {}).get("database", {}).get("up") is False
            alive_during = gateway.alive
            await asyncio.to_thread(own_postgres.start)
            recover_s = await wait_recovered(ledger, receipts, timeout_s=60 + DOWN_S)
            await asyncio.sleep(1)
            await burst.finish()
        outcome = await settle(ledger, database, receipts, timeout_s=30)
        outcome.recover_s = recover_s
        log_text = gateway.log.read_text()
        outcome.extra = {
            "delivered_before_stop": stored_when_down,
            "readyz_database_down_seen": down_seen,
            "gateway_alive_during": alive_during,
            "database_down_logged": log_text.count("database down"),
        }
    record("postgres-restart[postgresql]", outcome, {"pg_down_s": DOWN_S, "interval_s": INTERVAL_S})
    assert_no_problem(outcome, gateway.log)
    assert alive_during and gateway.alive, log_text[-3000:]
    assert down_seen, "the gateway never said the database was down"
    gateway.stop()
    await assert_site_log_intact(*database)
