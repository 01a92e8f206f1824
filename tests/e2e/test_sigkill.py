"""The gateway as a separate process (`campus-gateway run`), killed with SIGKILL at bad
moments: no alarm is lost, none is recorded twice, and each button's alarms reach the police
in the order pressed."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.mqtt.publisher import MqttPublisher
from simulators.button import press_button
from tests.support.gateway_process import (
    BUTTONS,
    PREFIX,
    GatewayProcess,
    check_delivered_once_in_order,
    source_of_alarm,
    stored_alarms,
    write_config,
)
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker, free_port

pytestmark = pytest.mark.mosquitto


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    made: list[GatewayProcess] = []
    yield made
    for gateway in made:
        gateway.stop()


async def test_sigkill_while_police_is_down_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    port = free_port()
    async with police_centre() as police:
        police.centre.set_failing(True)
        gateway = GatewayProcess(
            write_config(tmp_path, mosquitto, database, police.url, port),
            port,
            tmp_path / "gateway.log",
        )
        gateway_factory.append(gateway)
        gateway.start()
        await gateway.wait_connected()
        pressed: dict[tuple[str, str], list[str]] = defaultdict(list)
        async with MqttPublisher(mosquitto.url, client_id="buttons") as publisher:
            for i in range(12):
                school, button = BUTTONS[i % len(BUTTONS)]
                payload = await press_button(publisher, prefix=PREFIX, school=school, button=button)
                pressed[(school, button)].append(payload["id"])
        await eventually(lambda: _stored(database, 12), what="all 12 alarms stored")
        gateway.kill()
        assert police.centre.receipts == []
        police.centre.set_failing(False)
        gateway.start()
        await eventually(
            lambda: len(police.centre.receipts) == 12,
            timeout_s=30,
            what="every alarm delivered after the restart",
        )
        await asyncio.sleep(0.5)  # nothing more should arrive
        check_delivered_once_in_order(
            police.centre.receipts, await source_of_alarm(database), pressed
        )


async def _stored(database: tuple[str, str | None], expected: int) -> bool:
    return await stored_alarms(database) == expected


async def test_sigkill_in_the_middle_of_a_burst_loses_nothing(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    gateway_factory: list[GatewayProcess],
) -> None:
    port = free_port()
    async with police_centre() as police:
        gateway = GatewayProcess(
            write_config(tmp_path, mosquitto, database, police.url, port),
            port,
            tmp_path / "gateway.log",
        )
        gateway_factory.append(gateway)
        gateway.start()
        await gateway.wait_connected()
        pressed: dict[tuple[str, str], list[str]] = defaultdict(list)
        total = 60
        async with MqttPublisher(mosquitto.url, client_id="buttons") as publisher:
            for i in range(total):
                school, button = BUTTONS[i % len(BUTTONS)]
                payload = await press_button(publisher, prefix=PREFIX, school=school, button=button)
                pressed[(school, button)].append(payload["id"])
                if i == total // 3:
                    gateway.kill()  # presses go on arriving at the broker meanwhile
                if i == 2 * total // 3:
                    gateway.start()
        await eventually(
            lambda: len(police.centre.receipts) == total,
            timeout_s=40,
            what="every press of the burst delivered",
        )
        await asyncio.sleep(0.5)
        check_delivered_once_in_order(
            police.centre.receipts, await source_of_alarm(database), pressed
        )
        log_text = gateway.log.read_text()
        assert "Traceback" not in log_text, log_text[-3000:]
