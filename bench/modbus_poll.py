"""Benchmark C: `devices` Modbus TCP devices polled every second; edge -> stored event and CPU,
beside a bare pymodbus polling loop measured at the same time against the same field.

- field (bench/modbus_field.py, a process of its own): one `PanelServer` per device, each on
  its own port; discrete input 0 of devices drawn at random flips at random times
  (`edge_rate` per second in all, a device at most once every `min_gap_s`); it notes the
  wall-clock time of every edge.
- bare (bench/modbus_bare.py, a process of its own): one `AsyncModbusTcpClient` per device,
  each read every `interval_s` at a fixed rate; it notes the wall-clock time an answer shows a
  changed value. Nothing else.
- gateway: `python -m gateway run` with these devices in `modbus.devices` and discrete input 0
  of each mapped to a gate post (`guard_on`/`guard_off`), 10 gates a school; an edge is seen
  at the stored event's `received_at` (the time the poll's answer arrived). The bench also
  reads the new rows of `events` every 20 ms on its own connection: the time an edge's event is
  visible in the database (committed), to within that.

Both consumers poll the field at the same time, through one warm-up (`warmup_s`, once every
device has answered the gateway) and one measured window (`seconds`), then `DRAIN_S` more for
the last edges to be seen: whatever else runs on the machine meanwhile weighs on both alike.
Every edge of the window is matched, per device, to the consumer's first sighting of its new
value after it and before the device's next edge; an edge without one is missed. CPU is user +
system time of the consumer's process (all threads) over the window, from /proc.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    HOST,
    BenchError,
    Broker,
    Child,
    DatabaseTarget,
    GatewayProcess,
    Profiler,
    cpu_seconds,
    drop_database,
    free_port,
    make_database,
    metric_value,
    percentile,
)
from bench.modbus_match import Edge, EventWatch, match, modbus_site

TARGET_SLACK_S = 0.050  # p99 within the poll interval + this
TARGET_CPU_RATIO = 1.5
DRAIN_S = 3.0  # after the window: the last edges' polls (interval + timeout) are in
ONLINE_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class ModbusOptions:
    devices: int = 500
    interval_s: float = 1.0
    timeout_s: float = 1.0
    edge_rate: float = 30.0
    min_gap_s: float = 5.0
    warmup_s: float = 10.0
    seconds: float = 60.0
    database: str = "sqlite"
    seed: int = 20240901
    profile: Path | None = None

    @property
    def latency_limit_s(self) -> float:
        return self.interval_s + TARGET_SLACK_S


@dataclass(slots=True)
class Consumer:
    """What one consumer (the bare loop or the gateway) did in the measured window."""

    name: str
    edges: int = 0
    latencies_s: list[float] = field(default_factory=list)
    committed_s: list[float] = field(default_factory=list)  # gateway: visible in the database
    missed: int = 0
    window_s: float = math.nan
    cpu_s: float = math.nan
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return percentile(self.latencies_s, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_s, 0.99)

    @property
    def worst(self) -> float:
        return max(self.latencies_s, default=math.nan)

    @property
    def cores(self) -> float:
        """CPU seconds per wall-clock second of the window."""
        return self.cpu_s / self.window_s

    def score(
        self,
        edges: list[Edge],
        seen: list[Edge],
        window: Window,
        visible: list[float] | None = None,
    ) -> None:
        """Match the window's edges to the sightings `seen` (`visible`: when each sighting was
        seen in the database)."""
        self.edges, matched = match(edges, seen, window.start, window.end)
        for (at, _, _), found in matched:
            if found is None:
                self.missed += 1
                continue
            self.latencies_s.append(seen[found][0] - at)
            if visible is not None:
                self.committed_s.append(visible[found] - at)


@dataclass(frozen=True, slots=True)
class ModbusResult:
    options: ModbusOptions
    database: str
    bare: Consumer
    gateway: Consumer
    field_cores: float  # the field's CPU over the window

    @property
    def cpu_ratio(self) -> float:
        return self.gateway.cores / self.bare.cores if self.bare.cores > 0 else math.inf

    @property
    def latency_passed(self) -> bool:
        gateway = self.gateway
        return (
            gateway.edges > 0
            and gateway.missed == 0
            and gateway.p99 <= self.options.latency_limit_s
        )

    @property
    def cpu_passed(self) -> bool:
        return self.cpu_ratio <= TARGET_CPU_RATIO

    @property
    def passed(self) -> bool:
        return self.latency_passed and self.cpu_passed


@dataclass(frozen=True, slots=True)
class Window:
    start: float  # time.time()
    end: float
    seconds: float  # monotonic
    cpu_s: dict[str, float]  # per process
    gateway_loop_cpu_s: float  # the gateway's main thread (its event loop)


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the main thread of `pid` so far (the rest: its other threads,
    e.g. the gateway's SQLite writer)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class ModbusBench:
    def __init__(self, options: ModbusOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(workdir / "broker")
        self.edges_file = workdir / "edges.json"
        self.changes_file = workdir / "bare-changes.json"
        self.field = Child(
            "modbus-field",
            "bench.modbus_field",
            [
                *("--devices", str(options.devices), "--rate", str(options.edge_rate)),
                *("--min-gap", str(options.min_gap_s), "--seed", str(options.seed)),
                *("--output", str(self.edges_file)),
            ],
            workdir,
        )

    async def run(self) -> ModbusResult:
        database = await make_database(self.options.database, self.workdir, "modbus")
        self.broker.start()
        try:
            await self.broker.started()
            await self.field.start()
            ready = await self.field.message(120)
            ports: list[int] = ready["ports"]
            if len(ports) != self.options.devices:
                raise BenchError(
                    f"the field serves {len(ports)} devices, not {self.options.devices}"
                )
            return await self._measure(ports, database)
        finally:
            await self.field.stop()
            self.broker.stop()
            await drop_database(database)

    async def _measure(self, ports: list[int], database: DatabaseTarget) -> ModbusResult:
        options = self.options
        gateway = self._gateway(ports, database)
        bare = self._bare(ports)
        watch = EventWatch(database, options.devices)
        bare_result: dict[str, Any] | None = None
        gateway.start()
        try:
            await gateway.connected()
            online_after = await self._all_online(gateway)
            await bare.start()
            await bare.ready(60)
            stop = asyncio.Event()
            async with asyncio.TaskGroup() as group:
                group.create_task(watch.watch(stop), name="event-watch")
                try:
                    await asyncio.sleep(options.warmup_s)
                    window = await self._window({"bare": bare.pid, "gateway": gateway.pid})
                    await asyncio.sleep(DRAIN_S)
                finally:
                    stop.set()
            bare_result = await bare.stop(30)
            metrics = await gateway.metrics()
        finally:
            await bare.stop()
            gateway.stop()
            await watch.dispose()
        if await self.field.stop(30) is None:
            raise BenchError(f"the field did not report ({self.field.tail()})")
        if bare_result is None:
            raise BenchError(f"the bare loop did not report ({bare.tail()})")
        edges = _edges(json.loads(self.edges_file.read_text())["edges"])
        bare_seen = _edges(json.loads(self.changes_file.read_text())["changes"])

        bare_side = Consumer("bare pymodbus loop", window_s=window.seconds)
        bare_side.cpu_s = window.cpu_s["bare"]
        bare_side.score(edges, bare_seen, window)
        bare_side.notes["polls (whole run)"] = float(bare_result["polls"])
        bare_side.notes["failed polls"] = float(bare_result["failures"])

        gateway_side = Consumer("gateway", window_s=window.seconds)
        gateway_side.cpu_s = window.cpu_s["gateway"]
        gateway_side.score(edges, watch.received, window, watch.visible)
        loop_cores = window.gateway_loop_cpu_s / window.seconds
        gateway_side.notes["event-loop thread cores"] = loop_cores
        gateway_side.notes["other threads cores"] = max(0.0, gateway_side.cores - loop_cores)
        gateway_side.notes["all devices online after s"] = online_after
        gateway_side.notes["failed polls"] = metric_value(
            metrics, "campus_modbus_poll_failures_total"
        )
        field_cores = window.cpu_s["field"] / window.seconds
        return ModbusResult(options, database.label, bare_side, gateway_side, field_cores)

    def _gateway(self, ports: list[int], database: DatabaseTarget) -> GatewayProcess:
        process = GatewayProcess(
            self.workdir / "gateway",
            broker=self.broker,
            database=database,
            police_url=f"http://{HOST}:{free_port()}/alarms",  # no alarms in this benchmark
            client_id="bench-gw-modbus",
        )
        tree = yaml.safe_load(process.config.read_text(encoding="utf-8"))
        modbus_site(
            tree, ports, interval_s=self.options.interval_s, timeout_s=self.options.timeout_s
        )
        process.config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
        return process

    def _bare(self, ports: list[int]) -> Child:
        ports_file = self.workdir / "ports.txt"
        ports_file.write_text("\n".join(str(port) for port in ports) + "\n")
        return Child(
            "modbus-bare",
            "bench.modbus_bare",
            [
                *("--ports-file", str(ports_file), "--output", str(self.changes_file)),
                *("--interval", str(self.options.interval_s)),
                *("--timeout", str(self.options.timeout_s)),
            ],
            self.workdir,
        )

    async def _all_online(self, process: GatewayProcess) -> float:
        """Until every device has answered the gateway (its online gauge); how long it took."""
        began = time.monotonic()
        while True:
            online = metric_value(await process.metrics(), "campus_modbus_device_online")
            if online >= self.options.devices:
                return time.monotonic() - began
            if time.monotonic() - began > ONLINE_TIMEOUT_S:
                raise BenchError(
                    f"{online:.0f} of {self.options.devices} Modbus devices online after "
                    f"{ONLINE_TIMEOUT_S:g}s: {process.tail()}"
                )
            await asyncio.sleep(0.2)

    async def _window(self, pids: dict[str, int]) -> Window:
        """The measured window: CPU time of each process in `pids` and of the field."""
        pids = {**pids, "field": self.field.pid}
        profilers = [
            Profiler(self.options.profile / f"modbus-{name}.txt" if self.options.profile else None)
            for name in pids
        ]
        for profiler, pid in zip(profilers, pids.values(), strict=True):
            profiler.start(pid)
        cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
        loop_cpu = main_thread_cpu_seconds(pids["gateway"])
        start, began = time.time(), time.monotonic()
        await asyncio.sleep(self.options.seconds)
        window = Window(
            start=start,
            end=time.time(),
            seconds=time.monotonic() - began,
            cpu_s={name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()},
            gateway_loop_cpu_s=main_thread_cpu_seconds(pids["gateway"]) - loop_cpu,
        )
        for profiler in profilers:
            profiler.stop()
        return window


def _edges(rows: list[list[Any]]) -> list[Edge]:
    return [(float(at), int(device), bool(value)) for at, device, value in rows]


async def run(options: ModbusOptions, workdir: Path) -> ModbusResult:
    print(
        f"  {options.devices} devices at {1 / options.interval_s:g} Hz, "
        f"{options.edge_rate:g} edges/s; {options.warmup_s:g} s warm-up, "
        f"{options.seconds:g} s measured ...",
        flush=True,
    )
    return await ModbusBench(options, workdir).run()
