"""The gateway as a separate process (`python -m gateway run`), for tests that kill it, and
what they read back afterwards: the alarms it stored and the police receipts they became."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import func, select

from gateway.storage.database import create_engine
from gateway.storage.models import Alarm
from simulators.police import Receipt
from tests.support.police import eventually
from tests.support.processes import stop_process
from tests.support.services import MosquittoBroker, free_port
from tests.support.site import site_tree

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

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def readyz(self) -> dict[str, Any] | None:
        """The gateway's /readyz checks, or None while it does not answer."""
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                body = (await client.get(f"http://127.0.0.1:{self.port}/readyz")).json()
        except (httpx.HTTPError, ValueError):
            return None
        checks: dict[str, Any] = body["checks"]
        return checks

    async def wait_connected(self, timeout_s: float = 30) -> None:
        async def connected() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gateway exited: {self.log.read_text()[-3000:]}")
            checks = await self.readyz()
            if checks is None:
                return False
            return bool(checks["broker:alarms"]["up"] and checks["database"]["up"])

        await eventually(connected, timeout_s=timeout_s, what="the gateway process to connect")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_process(self.process, timeout_s=15)


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
    receipts: Sequence[Receipt],
    sources: dict[str, str],
    pressed: dict[tuple[str, str], list[str]],
) -> None:
    alarm_ids = [r.alarm_id for r in receipts]
    assert len(alarm_ids) == len(set(alarm_ids)), "an alarm id was received as two receipts"
    assert len(sources) == len(set(sources.values())), "one press became two alarms"
    per_button: dict[tuple[str, str], list[str]] = defaultdict(list)
    for receipt in receipts:
        per_button[(receipt.school_id, receipt.device_id)].append(sources[receipt.alarm_id])
    assert dict(per_button) == {k: v for k, v in pressed.items() if v}


async def launch_gateway(
    tmp_path: Path,
    mosquitto: MosquittoBroker,
    database: tuple[str, str | None],
    police_url: str,
    made: list[GatewayProcess],
) -> GatewayProcess:
    """A gateway process on `database`, started and connected; added to `made` so that the
    test's fixture stops it whatever happens."""
    port = free_port()
    gateway = GatewayProcess(
        write_config(tmp_path, mosquitto, database, police_url, port),
        port,
        tmp_path / "gateway.log",
    )
    made.append(gateway)
    gateway.start()
    await gateway.wait_connected()
    return gateway
