"""Benchmark A: press -> police acknowledgement latency under background telemetry.

One broker, one police centre (bench/centre.py), one telemetry generator at `rate` msg/s
(bench/load.py). Two phases, one after the other, on the same broker and centre:

1. bare: the bare MQTT -> HTTP relay (bench/baselines.py relay) forwards the presses;
2. gateway: `python -m gateway run` does (stores, acknowledges to the broker, hands the alarm to
   the police outbox, which POSTs it).

In each phase the telemetry runs for a couple of seconds first, then `presses` presses are
published (round robin over the site's three buttons, spaced uniformly at random around
`seconds / presses`). A press's latency runs from `perf_counter_ns()` just before it is
published to the centre's `perf_counter_ns()` when it accepts it (CLOCK_MONOTONIC: the same
clock in every process). The first `warmup` presses of a phase (connection set-up) are left
out of the figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    BUTTONS,
    HOST,
    POLICE_ENDPOINT,
    POLICE_SECRET,
    PREFIX,
    BenchError,
    Broker,
    Child,
    GatewayProcess,
    Profiler,
    cpu_seconds,
    drop_database,
    free_port,
    make_database,
    metric_value,
    percentile,
    wait_for_port,
)
from drivers.mqtt.publisher import MqttPublisher
from simulators.button import press_button

TARGET_RATIO = 3.0
TELEMETRY_WARMUP_S = 2.0
ACCEPT_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class LatencyOptions:
    presses: int = 500
    seconds: float = 25.0
    rate: int = 1000
    warmup: int = 20
    database: str = "sqlite"
    centre: str = "lean"
    broker_persistence: bool = False
    profile: Path | None = None
    trace: bool = False


@dataclass(slots=True)
class Side:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    missing: int = 0
    telemetry_rate: float = 0.0
    notes: dict[str, float] = field(default_factory=dict)
    breakdown: list[str] = field(default_factory=list)  # --trace: lines of text

    @property
    def p50(self) -> float:
        return percentile(self.latencies_ms, 0.50)

    @property
    def p99(self) -> float:
        return percentile(self.latencies_ms, 0.99)

    @property
    def worst(self) -> float:
        return max(self.latencies_ms, default=float("nan"))


@dataclass(frozen=True, slots=True)
class LatencyResult:
    options: LatencyOptions
    database: str
    bare: Side
    gateway: Side

    @property
    def ratio(self) -> float:
        return self.gateway.p99 / self.bare.p99

    @property
    def passed(self) -> bool:
        return self.gateway.missing == 0 and self.ratio <= TARGET_RATIO


Consumer = tuple[Callable[[], Awaitable[None]], Callable[[], Awaitable[None]]]


class LatencyBench:
    def __init__(self, options: LatencyOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(workdir / "broker", persistence=options.broker_persistence)
        self.centre_port = free_port()
        self.centre = Child(
            "centre",
            "bench.centre",
            ["--port", str(self.centre_port), "--secret", POLICE_SECRET, "--kind", options.centre],
            workdir,
            reports=False,
        )
        self.rng = random.Random(20240901)
        # What the presses and the telemetry go to: the site's (benchmark D sets a city's).
        self.buttons: list[tuple[str, str]] = list(BUTTONS)
        self.load_args: list[str] = []

    @property
    def centre_url(self) -> str:
        return f"http://{HOST}:{self.centre_port}/alarms"

    async def run(self) -> LatencyResult:
        database = await make_database(self.options.database, self.workdir, "latency")
        self.broker.start()
        try:
            await self.broker.started()
            await self.centre.start()
            await wait_for_port(self.centre_port, what="the police centre")
            bare = await self._phase("bare", self._relay())
            gateway_process = GatewayProcess(
                self.workdir / "gateway",
                broker=self.broker,
                database=database,
                police_url=self.centre_url,
                client_id="bench-gw-latency",
                trace=self.workdir / "trace.json" if self.options.trace else None,
            )
            gateway = await self._phase("gateway", self._gateway(gateway_process))
        finally:
            await self.centre.stop()
            self.broker.stop()
            await drop_database(database)
        return LatencyResult(self.options, database.label, bare, gateway)

    def _relay(self) -> tuple[Side, Consumer]:
        side = Side("bare relay")
        relay = Child(
            "relay",
            "bench.baselines",
            [
                "relay",
                "--port",
                str(self.broker.port),
                "--url",
                self.centre_url,
                "--secret",
                POLICE_SECRET,
            ],
            self.workdir,
        )

        async def start() -> None:
            await relay.start()
            await relay.ready()

        async def stop() -> None:
            result = await relay.stop()
            if result is not None:
                side.notes["relay failures"] = float(result["failed"])

        return side, (start, stop)

    def _gateway(self, process: GatewayProcess) -> tuple[Side, Consumer]:
        side = Side("gateway")
        profiler = Profiler(
            self.options.profile / "latency-gateway.txt" if self.options.profile else None
        )
        cpu_at_start = 0.0

        async def start() -> None:
            nonlocal cpu_at_start
            process.start()
            await process.connected()
            profiler.start(process.pid)
            cpu_at_start = cpu_seconds(process.pid)

        async def stop() -> None:
            try:
                side.notes["gateway CPU s"] = cpu_seconds(process.pid) - cpu_at_start
                profiler.stop()
                metrics = await process.metrics()
                count = metric_value(
                    metrics, "campus_alarm_forward_seconds_count", endpoint=POLICE_ENDPOINT
                )
                total = metric_value(
                    metrics, "campus_alarm_forward_seconds_sum", endpoint=POLICE_ENDPOINT
                )
                if count:
                    side.notes["gateway's own forward mean ms"] = total / count * 1000
                side.notes["telemetry stored"] = sum(
                    metric_value(metrics, "campus_events_ingested_total", kind=kind)
                    for kind in ("guard_on", "guard_off")
                )
            finally:
                process.stop()

        return side, (start, stop)

    async def _phase(self, name: str, setup: tuple[Side, Consumer]) -> Side:
        side, (start, stop) = setup
        options = self.options
        load = Child(
            f"load-{name}",
            "bench.load",
            [
                "steady",
                "--port",
                str(self.broker.port),
                "--rate",
                str(options.rate),
                "--seconds",
                str(options.seconds + 60),
                "--tag",
                f"lat-{name}",
                *self.load_args,
            ],
            self.workdir,
        )
        await start()
        try:
            await load.start()
            await load.ready()
            await asyncio.sleep(TELEMETRY_WARMUP_S)
            mosquitto_cpu = cpu_seconds(self.broker.pid)
            began = time.monotonic()
            sent = await self._press(name)
            accepted = await self._accepted(set(sent))
            side.notes["window s"] = time.monotonic() - began
            side.notes["mosquitto CPU s"] = cpu_seconds(self.broker.pid) - mosquitto_cpu
            telemetry = await load.stop()
            if telemetry is None:
                raise BenchError(f"the telemetry generator did not report ({load.tail()})")
            side.telemetry_rate = float(telemetry["rate"])
        finally:
            await load.stop()
            await stop()
        for index, (message_id, at) in enumerate(sent.items()):
            if index < options.warmup:
                continue
            if message_id in accepted:
                side.latencies_ms.append((accepted[message_id] - at) / 1e6)
            else:
                side.missing += 1
        trace = self.workdir / "trace.json"
        if name == "gateway" and self.options.trace and trace.exists():
            measured = dict(list(sent.items())[options.warmup :])
            side.breakdown = breakdown(json.loads(trace.read_text()), measured, accepted)
        return side

    async def _press(self, name: str) -> dict[str, int]:
        """Publish the presses; the perf_counter_ns() just before each, by message id."""
        options = self.options
        mean_gap = options.seconds / options.presses
        sent: dict[str, int] = {}
        run = uuid.uuid4().hex[:6]
        async with MqttPublisher(self.broker.url, client_id=f"bench-buttons-{name}") as publisher:
            for index in range(options.warmup + options.presses):
                school, button = self.buttons[index % len(self.buttons)]
                message_id = f"{name}-{run}-{index}"
                at = time.perf_counter_ns()
                await press_button(
                    publisher, prefix=PREFIX, school=school, button=button, message_id=message_id
                )
                sent[message_id] = at
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * mean_gap)
        return sent

    async def _accepted(self, wanted: set[str]) -> dict[str, int]:
        deadline = time.monotonic() + ACCEPT_TIMEOUT_S
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                body = (await client.get(f"http://{HOST}:{self.centre_port}/timings")).json()
                accepted: dict[str, int] = body["accepted"]
                if wanted <= accepted.keys() or time.monotonic() > deadline:
                    return {key: at for key, at in accepted.items() if key in wanted}
                await asyncio.sleep(0.1)


STAGES = [
    ("press", "mqtt_in", "publish -> gateway's paho has it (broker hop)"),
    ("mqtt_in", "batch", "paho -> ingest pipeline takes the batch"),
    ("batch", "insert", "write lock + session (waits for telemetry batches)"),
    ("insert", "stored", "insert event, alarm, deliveries + COMMIT"),
    ("stored", "submitted", "ack to broker, hand to the outbox"),
    ("submitted", "send", "outbox worker wakes, starts the POST"),
    ("send", "accepted", "httpx POST until the centre accepts"),
]


def _stats(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 0.5):7.2f}  p99 {percentile(values, 0.99):7.2f}  "
        f"max {max(values, default=float('nan')):7.2f}  mean {sum(values) / len(values):7.2f}"
        if values
        else "no samples"
    )


def breakdown(trace: dict[str, Any], sent: dict[str, int], accepted: dict[str, int]) -> list[str]:
    """Per stage of a press's way through the gateway (ms), from bench/trace.py's timestamps;
    then the mean of each stage over the slowest 5 % of presses; then the telemetry batches."""
    marks: dict[str, dict[str, int]] = trace["alarms"]
    rows: list[tuple[float, list[float]]] = []
    for message_id, at in sent.items():
        stages = dict(marks.get(message_id, {}), press=at)
        if message_id in accepted:
            stages["accepted"] = accepted[message_id]
        if all(a in stages and b in stages for a, b, _ in STAGES):
            parts = [(stages[b] - stages[a]) / 1e6 for a, b, _ in STAGES]
            rows.append(((stages["accepted"] - at) / 1e6, parts))
    if not rows:
        return ["no complete trace"]
    lines = [f"{len(rows)} presses traced (ms):"]
    for index, (_, _, label) in enumerate(STAGES):
        lines.append(f"  {label:<52} {_stats([parts[index] for _, parts in rows])}")
    rows.sort(key=lambda row: row[0])
    slow = rows[-max(1, len(rows) // 20) :]
    lines.append(f"slowest {len(slow)} presses (from {slow[0][0]:.1f} ms), mean per stage (ms):")
    for index, (_, _, label) in enumerate(STAGES):
        mean = sum(parts[index] for _, parts in slow) / len(slow)
        lines.append(f"  {label:<52} {mean:7.2f}")
    batches: list[dict[str, Any]] = trace["batches"]
    for kind, is_alarm in (("telemetry", False), ("alarm", True)):
        chosen = [b for b in batches if b["alarm"] is is_alarm and "store_ms" in b]
        if not chosen:
            continue
        lines.append(f"{kind} batches: {len(chosen)}, size {_stats([b['size'] for b in chosen])}")
        lines.append(f"  store (lock held + commit) ms  {_stats([b['store_ms'] for b in chosen])}")
        waits = [b["lock_wait_ms"] for b in chosen if "lock_wait_ms" in b]
        lines.append(f"  wait for write lock + BEGIN ms {_stats(waits)}")
        lines.append(f"  whole handle() ms              {_stats([b['handle_ms'] for b in chosen])}")
    answered = [
        (marks[m]["recorded"] - marks[m]["answered"]) / 1e6
        for m in sent
        if "recorded" in marks.get(m, {}) and "answered" in marks[m]
    ]
    lines.append(f"answered -> acknowledgement recorded (lane held) ms {_stats(answered)}")
    busy = [m for m in sent if trace["lane_busy"].get(m)]
    waits = [
        (marks[m]["send"] - marks[m]["submitted"]) / 1e6
        for m in busy
        if "send" in marks[m] and "submitted" in marks[m]
    ]
    lines.append(
        f"presses whose lane was still busy: {len(busy)}; their wake-up ms {_stats(waits)}"
    )
    pauses: list[tuple[int, float]] = [(int(g), float(ms)) for g, ms in trace["gc_pauses"]]
    for generation in (0, 1, 2):
        times = [ms for g, ms in pauses if g == generation]
        if times:
            lines.append(f"gc generation {generation}: {len(times)} runs, ms {_stats(times)}")
    lags: list[float] = trace["loop_lag_ms"]
    late = sum(1 for lag in lags if lag > 5)
    lines.append(f"event loop lag (1 ms timer) ms {_stats(lags)}; {late} ticks > 5 ms late")
    return lines


async def run(options: LatencyOptions, workdir: Path) -> LatencyResult:
    return await LatencyBench(options, workdir).run()
