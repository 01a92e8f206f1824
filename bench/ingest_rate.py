"""Benchmark B: sustained ingest with every event stored, beside a bare consumer.

Same method for both, on one broker: the consumer's persistent session (clean_session=False,
a `campus/#` subscription at QoS 1) is made, the consumer disconnects, `messages` QoS-1 gate
events are published (bench/load.py bulk) and queue in the broker; then the consumer connects
and drains them.

- bare: bench/baselines.py consumer counts the messages (paho acknowledges each on receipt);
  the rate is messages / (last message - first message), wall clock, in that process.
- gateway: `python -m gateway run`, run once to make its sessions, stopped, then started again
  after the publishing. The bench polls `max(events.id)` (then `count(*)`) every 20 ms on its
  own connection; the rate is messages / (poll that saw all stored - first `received_at`).
  Both clocks are the machine's wall clock. Start-up (imports, migrations, connecting) is not
  counted for either: both are timed from the first message received.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    HOST,
    BenchError,
    Broker,
    Child,
    DatabaseTarget,
    EventTable,
    GatewayProcess,
    Profiler,
    cpu_seconds,
    drop_database,
    forget_session,
    free_port,
    make_database,
    metric_value,
)

TARGET_SHARE = 0.5
POLL_S = 0.02


@dataclass(frozen=True, slots=True)
class IngestOptions:
    messages: int = 100_000
    database: str = "sqlite"
    broker_persistence: bool = False
    profile: Path | None = None

    @property
    def timeout_s(self) -> float:
        return min(150.0, max(30.0, self.messages / 1000))


@dataclass(slots=True)
class Drain:
    name: str
    count: int = 0
    seconds: float = float("nan")
    publish_rate: float = 0.0
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class IngestResult:
    options: IngestOptions
    database: str
    bare: Drain
    gateway: Drain

    @property
    def share(self) -> float:
        return self.gateway.rate / self.bare.rate if self.bare.rate else 0.0

    @property
    def passed(self) -> bool:
        return self.gateway.count >= self.options.messages and self.share >= TARGET_SHARE


class IngestBench:
    def __init__(self, options: IngestOptions, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(workdir / "broker", persistence=options.broker_persistence)
        self.run_id = uuid.uuid4().hex[:6]

    async def run(self) -> IngestResult:
        database = await make_database(self.options.database, self.workdir, "ingest")
        self.broker.start()
        try:
            await self.broker.started()
            bare = await self._bare()
            gateway = await self._gateway(database)
        finally:
            self.broker.stop()
            await drop_database(database)
        return IngestResult(self.options, database.label, bare, gateway)

    async def _publish(self, tag: str) -> float:
        bulk = Child(
            f"bulk-{tag}",
            "bench.load",
            [
                "bulk",
                "--port",
                str(self.broker.port),
                "--count",
                str(self.options.messages),
                "--tag",
                f"{tag}-{self.run_id}",
            ],
            self.workdir,
        )
        await bulk.start()
        try:
            await bulk.ready()
            result = await bulk.result(self.options.timeout_s)
        finally:
            await bulk.close()
        return float(result["rate"])

    async def _bare(self) -> Drain:
        drain = Drain("bare consumer")
        client_id = f"bench-bare-{self.run_id}"
        base = ["consumer", "--port", str(self.broker.port), "--client-id", client_id]
        subscribe = Child(
            "consumer-session", "bench.baselines", [*base, "--subscribe-only"], self.workdir
        )
        await subscribe.start()
        try:
            await subscribe.ready()
            await subscribe.result(20)
        finally:
            await subscribe.close()
        drain.publish_rate = await self._publish("bare")
        consumer = Child(
            "consumer",
            "bench.baselines",
            [
                *base,
                "--expect",
                str(self.options.messages),
                "--timeout",
                str(self.options.timeout_s),
            ],
            self.workdir,
        )
        mosquitto_cpu = cpu_seconds(self.broker.pid)
        await consumer.start()
        try:
            await consumer.ready()
            result = await consumer.result(self.options.timeout_s + 20)
        finally:
            await consumer.close()
        drain.notes["mosquitto CPU s"] = cpu_seconds(self.broker.pid) - mosquitto_cpu
        drain.count = int(result["count"])
        drain.seconds = float(result["last"]) - float(result["first"])
        drain.notes["consumer CPU s"] = float(result["cpu_s"])
        drain.notes["connect to first message s"] = float(result["first"]) - float(
            result["connected"]
        )
        await forget_session(self.broker.port, client_id)  # nothing more queues for it
        return drain

    def _gateway_process(self, database: DatabaseTarget) -> GatewayProcess:
        """The gateway measured (benchmark D gives its city's)."""
        return GatewayProcess(
            self.workdir / "gateway",
            broker=self.broker,
            database=database,
            police_url=f"http://{HOST}:{free_port()}/alarms",  # no alarms in this benchmark
            client_id=f"bench-gw-{self.run_id}",
        )

    async def _gateway(self, database: DatabaseTarget) -> Drain:
        drain = Drain("gateway")
        process = self._gateway_process(database)
        process.start()  # once, to make its persistent sessions and the schema
        try:
            await process.connected()
        finally:
            process.stop()
        drain.publish_rate = await self._publish("gw")
        table = EventTable(database)
        profiler = Profiler(
            self.options.profile / "ingest-gateway.txt" if self.options.profile else None
        )
        mosquitto_cpu = cpu_seconds(self.broker.pid)
        process.start()
        try:
            started = time.monotonic()
            cpu_first = 0.0
            done: float | None = None
            while time.monotonic() - started < self.options.timeout_s:
                await asyncio.sleep(POLL_S)
                stored = await table.max_id()
                if stored and not cpu_first:
                    cpu_first = cpu_seconds(process.pid)
                    profiler.start(process.pid, settle=False)
                if stored >= self.options.messages:
                    drain.count = await table.count()
                    if drain.count >= self.options.messages:
                        done = time.time()
                        break
            drain.notes["gateway CPU s"] = cpu_seconds(process.pid) - cpu_first
            drain.notes["mosquitto CPU s"] = cpu_seconds(self.broker.pid) - mosquitto_cpu
            profiler.stop()
            if done is None:
                drain.count = await table.count()
                done = time.time()
            if drain.count == 0:
                raise BenchError(f"the gateway stored nothing: {process.tail()}")
            first, last = await table.received_span()
            drain.seconds = done - first.timestamp()
            drain.notes["first to last received s"] = (last - first).total_seconds()
            metrics = await process.metrics()
            drain.notes["rejected"] = metric_value(metrics, "campus_events_rejected_total")
        finally:
            profiler.stop()
            process.stop()
            await table.dispose()
        return drain


async def run(options: IngestOptions, workdir: Path) -> IngestResult:
    return await IngestBench(options, workdir).run()
