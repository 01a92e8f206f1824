"""The broker (a Mosquitto of the test's own, persistence on, as in deploy/) restarted in the
middle of a burst of QoS-1 presses: every press the broker acknowledged to the button is
stored once and delivered once, in the order pressed per button.

What the button does with a press the broker never acknowledged: `MqttPublisher.publish`
raises `DeviceUnavailable` and drops the connection; the next press opens a new one (clean
session), so the press is not sent again by the simulator. Such a press may have reached the
broker (its PUBACK lost with the connection) or not: the contract only covers acknowledged
presses, so it is counted apart, and allowed to be stored at most once, in its place."""

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
from tests.support.gateway_process import BUTTONS, PREFIX, GatewayProcess, launch_gateway
from tests.support.police import police_centre
from tests.support.services import MosquittoBroker

DOWN_S = env_float("CHAOS_BROKER_DOWN_S", 3)
INTERVAL_S = env_float("CHAOS_INTERVAL_S", 0.1)
VOLLEY = 15  # presses sent back to back right before the broker stops

pytestmark = [pytest.mark.mosquitto, pytest.mark.chaos]


@pytest.mark.timeout(90 + 2 * DOWN_S)
async def test_broker_restart_mid_burst_loses_no_acknowledged_press(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    assert mosquitto.persistence, "the no-loss guarantee relies on the broker's persistence"
    backend = "sqlite" if database[0].startswith("sqlite") else "postgresql"
    ledger = Ledger()
    # A slow police centre keeps deliveries queued in the gateway while the broker is away:
    # the broker's restart must not disturb them either.
    async with police_centre(delay_s=0.05) as police:
        receipts = police.centre.receipts
        gateway = await launch_gateway(tmp_path, mosquitto, database, police.url, gateway_factory)
        async with (
            MqttPublisher(mosquitto.url, client_id="chaos-buttons", timeout_s=2) as buttons,
            bursting(ledger, buttons, interval_s=INTERVAL_S) as burst,
        ):
            await asyncio.sleep(2)
            # A volley just before the stop: some of it is still on its way to the gateway, or
            # stored and not yet acknowledged, when the broker goes.
            for index in range(VOLLEY):
                await ledger.press(buttons, PREFIX, BUTTONS[index % len(BUTTONS)])
            acked_before = len(ledger.acked)
            # SIGTERM: Mosquitto saves its persistence file on the way out, as on a restart
            # by systemd or docker.
            await asyncio.to_thread(mosquitto.stop)
            await asyncio.sleep(DOWN_S)
            await asyncio.to_thread(mosquitto.start)
            # Both sides must reconnect: the buttons' next presses and the gateway's session.
            recover_s = await wait_recovered(ledger, receipts, timeout_s=60)
            await asyncio.sleep(1)
            acked_after = len(ledger.acked) - acked_before
            await burst.finish()
        outcome = await settle(ledger, database, receipts, timeout_s=30)
        outcome.recover_s = recover_s
        outcome.extra = {
            "acked_before_restart": acked_before,
            "acked_after_restart": acked_after,
            "volley": VOLLEY,
            "gateway_alive": gateway.alive,
        }
    record(
        f"broker-restart[{backend}]",
        outcome,
        {"broker_down_s": DOWN_S, "interval_s": INTERVAL_S},
    )
    assert_no_problem(outcome, gateway.log)
    assert acked_before > 0 and acked_after > 0, outcome.extra
    assert gateway.alive, gateway.log.read_text()[-3000:]
    gateway.stop()
    await assert_site_log_intact(*database)
