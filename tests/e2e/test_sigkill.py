"""The gateway as a separate process (`campus-gateway run`), killed with SIGKILL at bad
moments: no alarm is lost, none is recorded twice, and each button's alarms reach the police
in the order pressed."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from drivers.mqtt.publisher import MqttPublisher
from gateway.storage.database import create_engine
from gateway.storage.models import Alarm
from simulators.button import press_button
from tests.support.police import eventually, police_centre
from tests.support.processes import stop_process
from tests.support.services import MosquittoBroker, free_port
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
PREFIX = "campus"
BUTTONS = [
    ("fy-dongguan-ms", "btn-north"),
    ("fy-dongguan-ms", "btn-office"),
    ("fy-shiyan-kg", "btn-gate"),
]


class GatewayProcess:
    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config = config
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gateway", "run", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )

    async def wait_connected(self) -> None:
        async def connected() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited: {self.log.read_text()[-3000:]}")
            try:
                async with httpx.AsyncClient(timeout=1) as client:
                    body = (await client.get(f"http://127.0.0.1:{self.port}/readyz")).json()
            except httpx.HTTPError:
                return False
            checks = body["checks"]
            return bool(checks["broker:alarms"]["up"] and checks["database"]["up"])

        await eventually(connected, timeout_s=30, what="the gateway process to connect")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=15)


@pytest.fixture
def gateway_factory(tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    made: list[GatewayProcess] = []
    yield made
    for gateway in made:
        gateway.stop()


def write_config(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    police_url: str,
    port: int,
) -> Path:
    url, schema = database
    tree = site_tree(
        mqtt_url=mosquitto.url,
        database_url=url,
        database_schema=schema,
        police_urls={"city-110": police_url},
        http_port=port,
    )
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    return path


async def stored_alarms(database: tuple[str, str | None]) -> int:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(Alarm))).scalar_one())
    except Exception:  # the table may not exist yet
        return 0
    finally:
        await engine.dispose()


async def source_of_alarm(database: tuple[str, str | None]) -> dict[str, str]:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(Alarm.alarm_id, Alarm.source_id))).all()
    finally:
        await engine.dispose()
    return {alarm_id: source for alarm_id, source in rows}


def check_delivered_once_in_order(
    receipts: list[object], sources: dict[str, str], pressed: dict[tuple[str, str], list[str]]
) -> None:
    alarm_ids = [r.alarm_id for r in receipts]  # type: ignore[attr-defined]
    assert len(alarm_ids) == len(set(alarm_ids)), "an alarm id was received as two receipts"
    assert len(sources) == len(set(sources.values())), "one press became two alarms"
    per_button: dict[tuple[str, str], list[str]] = defaultdict(list)
    for receipt in receipts:
        per_button[(receipt.school_id, receipt.device_id)].append(sources[receipt.alarm_id])  # type: ignore[attr-defined]
    assert dict(per_button) == {k: v for k, v in pressed.items() if v}


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
