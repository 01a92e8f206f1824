"""Benchmark D's live parts: the gateway run with the city's configuration, and benchmarks A
and B (bench/alarm_latency.py, bench/ingest_rate.py) pointed at it, each beside its bare
baseline measured in the same run.

- `CityGateway`: `python -m gateway run` with the city's site file (validated by the
  gateway's own loader before it starts); it notes its peak RSS (VmHWM) when stopped.
- `CityIngest`: B with the city's live sample (one day of every school's traffic, as the
  devices send it) instead of telemetry of two gates; a police centre acknowledges the
  day's alarm tests. Before B's own two starts the gateway runs once until idle, so that its
  start-up work on an empty record (the patrol rounds missed in the last hours, alerts and
  tickets) is not counted as ingest.
- `CityLatency`: A with the presses on buttons of the city and the telemetry on its gates,
  on the database that holds the month.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.alarm_latency import LatencyBench, LatencyOptions, LatencyResult
from bench.city_site import city_tree
from bench.common import (
    HOST,
    POLICE_ENDPOINT,
    POLICE_SECRET,
    Broker,
    Child,
    DatabaseTarget,
    GatewayProcess,
    cpu_seconds,
    free_port,
    wait_for_port,
)
from bench.ingest_rate import IngestBench, IngestOptions, IngestResult
from gateway.settings import load_settings

IDLE_CPU_SHARE = 0.05  # of a core, over IDLE_WINDOW_S: the gateway has settled
IDLE_WINDOW_S = 2.0
SETTLE_TIMEOUT_S = 180.0


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set so far (VmHWM), in MB; NaN when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


class CityGateway(GatewayProcess):
    """The gateway with the city's site file instead of tests/support/site.py's."""

    def __init__(
        self,
        directory: Path,
        *,
        broker: Broker,
        database: DatabaseTarget,
        police_url: str,
        client_id: str,
        schools: list[dict[str, Any]],
    ) -> None:
        super().__init__(
            directory, broker=broker, database=database, police_url=police_url, client_id=client_id
        )
        tree = city_tree(
            schools,
            mqtt_url=broker.url,
            database_url=database.url,
            database_schema=database.schema,
            police_id=POLICE_ENDPOINT,
            police_url=police_url,
            police_secret=POLICE_SECRET,
            http_port=self.port,
            client_id=client_id,
        )
        self.config = directory / "city.yaml"
        self.config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        load_settings(self.config)  # the gateway's own loader: a broken city stops here
        self.peaks_mb: list[float] = []  # VmHWM at each stop

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.peaks_mb.append(peak_rss_mb(self.process.pid))
        super().stop()


async def settle(process: GatewayProcess) -> float:
    """Until the gateway's CPU stays under IDLE_CPU_SHARE of a core for IDLE_WINDOW_S (its
    start-up work done); the seconds that took from its start."""
    began = time.monotonic()
    await process.connected(timeout_s=SETTLE_TIMEOUT_S)
    while time.monotonic() - began < SETTLE_TIMEOUT_S:
        before = cpu_seconds(process.pid)
        await asyncio.sleep(IDLE_WINDOW_S)
        if cpu_seconds(process.pid) - before < IDLE_CPU_SHARE * IDLE_WINDOW_S:
            break
    return time.monotonic() - began


@dataclass(frozen=True, slots=True)
class CityIngestOptions(IngestOptions):
    """B's options for a day of the city: scans and alarm tests cost more than gate events,
    so the drain may take longer than B's telemetry does."""

    @property
    def timeout_s(self) -> float:
        return max(120.0, self.messages / 200)


class CityIngest(IngestBench):
    """B with the city's live sample (`messages`: a file for bench/city_feed.py)."""

    def __init__(
        self,
        options: IngestOptions,
        workdir: Path,
        *,
        database: DatabaseTarget,
        schools: list[dict[str, Any]],
        messages: Path,
    ) -> None:
        super().__init__(options, workdir)
        self.database = database
        self.schools = schools
        self.messages = messages
        self.centre_port = free_port()
        self.centre = Child(
            "centre-ingest",
            "bench.centre",
            ["--port", str(self.centre_port), "--secret", POLICE_SECRET],
            workdir,
            reports=False,
        )
        self.processes: list[CityGateway] = []
        self.settle_s = math.nan

    async def run(self) -> IngestResult:
        """B's phases, on the given database (kept: the month goes on in it)."""
        self.broker.start()
        try:
            await self.broker.started()
            await self.centre.start()
            await wait_for_port(self.centre_port, what="the police centre")
            bare = await self._bare()
            gateway = await self._gateway(self.database)
        finally:
            await self.centre.stop()
            self.broker.stop()
        return IngestResult(self.options, self.database.label, bare, gateway)

    def _gateway_process(self, database: DatabaseTarget) -> GatewayProcess:
        process = CityGateway(
            self.workdir / "gateway",
            broker=self.broker,
            database=database,
            police_url=f"http://{HOST}:{self.centre_port}/alarms",
            client_id=f"bench-gw-{self.run_id}",
            schools=self.schools,
        )
        self.processes.append(process)
        return process

    async def _gateway(self, database: DatabaseTarget) -> Any:
        first = self._gateway_process(database)
        first.start()
        try:
            self.settle_s = await settle(first)
        finally:
            first.stop()
        return await super()._gateway(database)

    async def _publish(self, tag: str) -> float:
        feed = Child(
            f"feed-{tag}",
            "bench.city_feed",
            [
                "--port",
                str(self.broker.port),
                "--file",
                str(self.messages),
                "--client-id",
                f"bench-feed-{tag}-{self.run_id}",
            ],
            self.workdir,
        )
        await feed.start()
        try:
            await feed.ready()
            result = await feed.result(self.options.timeout_s)
        finally:
            await feed.close()
        return float(result["rate"])


class CityLatency(LatencyBench):
    """A with the city's buttons and gates, on the database holding the month (kept)."""

    def __init__(
        self,
        options: LatencyOptions,
        workdir: Path,
        *,
        database: DatabaseTarget,
        schools: list[dict[str, Any]],
    ) -> None:
        super().__init__(options, workdir)
        self.database = database
        self.schools = schools
        # Buttons without a camera, spread over the city: no picture to wait for, as in A.
        buttons = [(s["id"], b["id"]) for s in schools for b in s["alarm_buttons"]]
        plain = [
            (s["id"], b["id"]) for s in schools for b in s["alarm_buttons"] if "camera" not in b
        ]
        self.buttons = (plain or buttons)[:: max(1, len(schools) // 50)][:60]
        gates = [(s["id"], g["id"]) for s in schools for g in s["gates"]]
        gates_file = workdir / "gates.json"
        gates_file.write_text(json.dumps(gates))
        self.load_args = ["--gates", str(gates_file)]
        self.process: CityGateway | None = None
        self.settle_cpu_s = 0.0

    async def run(self) -> LatencyResult:
        self.broker.start()
        try:
            await self.broker.started()
            await self.centre.start()
            await wait_for_port(self.centre_port, what="the police centre")
            bare = await self._phase("bare", self._relay())
            self.process = CityGateway(
                self.workdir / "gateway",
                broker=self.broker,
                database=self.database,
                police_url=self.centre_url,
                client_id="bench-gw-city-latency",
                schools=self.schools,
            )
            gateway = await self._phase("gateway", self._settled(self.process))
        finally:
            await self.centre.stop()
            self.broker.stop()
        return LatencyResult(self.options, self.database.label, bare, gateway)

    def _settled(self, process: CityGateway) -> Any:
        """A's gateway phase, its start-up work on the month's record done before the
        telemetry and the presses begin (and its CPU left out of the phase's)."""
        side, (start, stop) = self._gateway(process)

        async def settled_start() -> None:
            await start()
            before = cpu_seconds(process.pid)
            side.notes["start-up to idle s"] = await settle(process)
            self.settle_cpu_s = cpu_seconds(process.pid) - before

        async def adjusted_stop() -> None:
            await stop()
            side.notes["gateway CPU s"] -= self.settle_cpu_s

        return side, (settled_start, adjusted_stop)
