"""The gateway's SQLite database on a small filesystem that fills up in the middle of a burst
of presses ("database or disk is full" from the kernel, as on a full SD card). Expected: the
presses that could not be stored are not acknowledged to the broker, so it keeps them; the
gateway keeps running and logs the fault once; once space is freed (after CHAOS_DISK_FULL_S,
5 s here) every press is stored once and delivered once, in order per button."""

from __future__ import annotations

import asyncio
import time
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
from tests.support.filesystems import fill, free_space
from tests.support.gateway_process import GatewayProcess, launch_gateway
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker

FULL_S = env_float("CHAOS_DISK_FULL_S", 5)
INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.1)
FAULT_WITHIN_S = 30.0  # a full disk must show within this many seconds of presses

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(120 + 2 * FULL_S)
async def test_sqlite_disk_full_mid_burst_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    small_fs: Path,
    gateway_factory: list[GatewayProcess],
) -> None:
    database: tuple[str, str | None] = (f"sqlite+aiosqlite:///{small_fs / 'campus.db'}", None)
    ledger = Ledger()
    async with police_centre() as police:
        receipts = police.centre.receipts
        gateway = await launch_gateway(tmp_path, mosquitto, database, police.url, gateway_factory)
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=5) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            await asyncio.sleep(2)
            ballast = await asyncio.to_thread(fill, small_fs)
            filled = time.monotonic()
            sent_when_full = ledger.sent

            def database_down() -> bool:
                return "database down" in gateway.log.read_text()

            # The WAL reuses the room it already has, so the fault shows when it must grow.
            await eventually(database_down, timeout_s=FAULT_WITHIN_S, what="the disk-full fault")
            fault_after_s = round(time.monotonic() - filled, 2)
            delivered_at_fault = len(receipts)
            await asyncio.sleep(FULL_S)
            # Nothing the database refused can have gone to the police meanwhile; presses
            # stored just before the fault may still be on their way.
            delivered_during = len(receipts) - delivered_at_fault
            readyz_during = await gateway.readyz()
            alive_during = gateway.alive
            await asyncio.to_thread(free_space, small_fs)
            recover_s = await wait_recovered(ledger, receipts, timeout_s=60 + FULL_S)
            await asyncio.sleep(1)
            await burst.finish()
        outcome = await settle(ledger, database, receipts, timeout_s=30)
        outcome.recover_s = recover_s
        log_text = gateway.log.read_text()
        outcome.extra = {
            "ballast_bytes": ballast,
            "presses_before_full": sent_when_full,
            "fault_after_s": fault_after_s,
            "delivered_while_full": delivered_during,
            "gateway_alive_during": alive_during,
            "database_down_logged": log_text.count("database down"),
            "disk_full_lines": log_text.count("database or disk is full"),
            "readyz_database_up_while_full": (readyz_during or {}).get("database", {}).get("up"),
        }
    record(
        "sqlite-disk-full[sqlite]",
        outcome,
        {"disk_full_s": FULL_S, "interval_s": INTERVAL_S},
    )
    assert_no_problem(outcome, gateway.log)
    assert alive_during and gateway.alive, log_text[-3000:]
    assert outcome.extra["database_down_logged"] == 1, log_text[-3000:]
    # SELECT 1 still answers on a full disk: readiness must take the failed writes as well.
    assert outcome.extra["readyz_database_up_while_full"] is False, readyz_during
    gateway.stop()
    await assert_site_log_intact(*database)
