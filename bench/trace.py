"""The gateway with timestamps along an alarm's way, for `python -m bench --trace` (benchmark
A's breakdown). It wraps a few gateway functions from the outside (nothing in gateway/ is
changed) and, when its runtime stops, writes what it saw to `--output` as JSON:

- `alarms`: per press (by its message id), `perf_counter_ns()` at each stage:
  `mqtt_in` (paho handed the message to aiomqtt), `batch` (the ingest pipeline took the batch),
  `insert` (inside the write lock and the transaction, the insert starts), `stored` (committed),
  `submitted` (handed to the police outbox), `send` (the webhook attempt starts), `answered`;
- `batches`: per ingest batch, its kind (alarm/telemetry), size, handle time, store time (the
  write lock held, the transaction, its commit) and wait for the lock;
- `loop_lag_ms`: how late a 1 ms timer fired, sampled continuously (event-loop blocking);
- `lane_busy`: per press, whether its button's lane was still busy with the previous alarm
  (its acknowledgement not yet recorded) when it reached the outbox; `recorded` marks when it
  was; `gc_pauses`: (generation, ms) of each garbage collection.

What-if knobs (environment, see `experiments`): BENCH_SWITCH_INTERVAL_S,
BENCH_SQLITE_SYNCHRONOUS, BENCH_GC_FREEZE.

The wrappers cost a few microseconds per message; figures from a traced run are for the
breakdown, not for the table.

    python -m bench.trace --output FILE run --config site.yaml
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import os
import re
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ID = re.compile(rb'"id"\s*:\s*"([^"]+)"')
SOURCE = re.compile(rb'"source_id"\s*:\s*"([^"]+)"')
LAG_TICK_S = 0.001

alarms: dict[str, dict[str, int]] = defaultdict(dict)
batches: list[dict[str, Any]] = []
lags_ms: list[float] = []
lane_busy: dict[str, bool] = {}
gc_pauses: list[tuple[int, float]] = []  # (generation, ms)
current: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "bench_batch", default=None
)


def _mark(stage: str, source: str | None) -> None:
    if source is not None:
        alarms[source].setdefault(stage, time.perf_counter_ns())


def _payload_id(payload: bytes) -> str | None:
    match = ID.search(payload)
    return match.group(1).decode() if match else None


def _source_id(body: bytes) -> str | None:
    match = SOURCE.search(body)
    return match.group(1).decode() if match else None


async def _watch_loop() -> None:
    while True:
        start = time.perf_counter()
        await asyncio.sleep(LAG_TICK_S)
        lags_ms.append((time.perf_counter() - start - LAG_TICK_S) * 1000)


def install(output: Path) -> None:
    import aiomqtt

    from gateway.ingest.pipeline import IngestPipeline
    from gateway.linkage.outbox import EndpointWorker, PoliceOutbox
    from gateway.linkage.senders import WebhookSender
    from gateway.runtime import GatewayRuntime

    on_message = aiomqtt.Client._on_message

    def traced_on_message(self: aiomqtt.Client, client: Any, userdata: Any, message: Any) -> None:
        if self.identifier.endswith("-alarms"):
            _mark("mqtt_in", _payload_id(message.payload))
        on_message(self, client, userdata, message)

    aiomqtt.Client._on_message = traced_on_message  # type: ignore[method-assign]

    handle = IngestPipeline.handle
    store_once = IngestPipeline._store_once

    async def traced_handle(self: IngestPipeline, batch: Sequence[Any], ack: Any) -> None:
        start = time.perf_counter_ns()
        is_alarm = all("/alarm/" in m.topic and m.topic.endswith("/event") for m in batch)
        if is_alarm:
            for message in batch:
                _mark("batch", _payload_id(message.payload))
        record: dict[str, Any] = {"alarm": is_alarm, "size": len(batch), "start": start}
        current.set(record)
        await handle(self, batch, ack)
        record["handle_ms"] = (time.perf_counter_ns() - start) / 1e6
        batches.append(record)

    async def traced_store_once(self: IngestPipeline, decoded: Any) -> Any:
        record = current.get() or {}
        start = time.perf_counter_ns()
        record["store_start"] = start
        result = await store_once(self, decoded)
        record["store_ms"] = (time.perf_counter_ns() - start) / 1e6
        for event in result.events:
            if event.is_alarm:
                _mark("stored", event.message_id)
        return result

    IngestPipeline.handle = traced_handle  # type: ignore[method-assign]
    IngestPipeline._store_once = traced_store_once  # type: ignore[method-assign]

    import gateway.ingest.pipeline as pipeline_module

    insert_events = getattr(pipeline_module, "insert_events")  # noqa: B009 (not re-exported)

    def traced_insert_events(connection: Any, events: Sequence[Any]) -> Any:
        # Runs in the database writer (a thread on SQLite): the time from the start of the
        # store to here is the wait for the writer.
        record = current.get()
        if record is not None:
            record["lock_wait_ms"] = (time.perf_counter_ns() - record["store_start"]) / 1e6
        for event in events:
            if event.is_alarm:
                _mark("insert", event.message_id)
        return insert_events(connection, events)

    setattr(pipeline_module, "insert_events", traced_insert_events)  # noqa: B010

    submit = PoliceOutbox.submit

    def traced_submit(
        self: PoliceOutbox, deliveries: Sequence[Any], alarms: Sequence[Any] = ()
    ) -> None:
        for delivery in deliveries:
            source = _source_id(delivery.alarm.body)
            _mark("submitted", source)
            worker = self.workers.get(delivery.endpoint_id)
            if source is not None and worker is not None:
                # The lane (button) still busy with an earlier alarm of the same button?
                lane_busy[source] = delivery.lane in worker._in_flight
        submit(self, deliveries, alarms)

    PoliceOutbox.submit = traced_submit  # type: ignore[method-assign]

    send = WebhookSender.send

    async def traced_send(self: WebhookSender, alarm: Any) -> Any:
        source = _source_id(alarm.body)
        _mark("send", source)
        try:
            return await send(self, alarm)
        finally:
            _mark("answered", source)

    WebhookSender.send = traced_send  # type: ignore[method-assign]

    attempt_once = EndpointWorker._attempt_once

    async def traced_attempt_once(self: EndpointWorker, delivery: Any) -> None:
        try:
            await attempt_once(self, delivery)
        finally:  # the acknowledgement recorded: the lane may take its next alarm
            _mark("recorded", _source_id(delivery.alarm.body))

    EndpointWorker._attempt_once = traced_attempt_once  # type: ignore[method-assign]

    run = GatewayRuntime.run

    async def traced_run(self: GatewayRuntime) -> None:
        try:
            async with asyncio.TaskGroup() as group:
                watcher = group.create_task(_watch_loop(), name="bench-loop-lag")
                try:
                    await run(self)
                finally:
                    watcher.cancel()
        finally:
            # Here, not at exit: uvicorn ends a SIGTERM'd process by raising the signal again.
            write(output)

    GatewayRuntime.run = traced_run  # type: ignore[method-assign]


def write(path: Path) -> None:
    trace = {
        "alarms": alarms,
        "batches": batches,
        "loop_lag_ms": lags_ms,
        "lane_busy": lane_busy,
        "gc_pauses": gc_pauses,
    }
    path.write_text(json.dumps(trace))


def _watch_gc() -> None:
    started = [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter_ns()
        else:
            gc_pauses.append((info["generation"], (time.perf_counter_ns() - started[0]) / 1e6))

    gc.callbacks.append(callback)


def experiments() -> None:
    """Knobs for what-if runs, from the environment (none is set by default):
    BENCH_SWITCH_INTERVAL_S: `sys.setswitchinterval` (how long a thread may wait for the GIL;
    Python's default 0.005); BENCH_SQLITE_SYNCHRONOUS: SQLite's `synchronous` (the gateway
    sets FULL); BENCH_GC_FREEZE=1: `gc.freeze()` once the runtime starts."""
    switch = os.environ.get("BENCH_SWITCH_INTERVAL_S")
    if switch:
        sys.setswitchinterval(float(switch))
    synchronous = os.environ.get("BENCH_SQLITE_SYNCHRONOUS")
    if synchronous:
        from gateway.storage import database, writer

        pragmas = database.sqlite_pragmas

        def with_synchronous(dbapi_connection: Any, _record: Any) -> None:
            pragmas(dbapi_connection, _record)
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        # Both engines: the async one (reads) and the writer's.
        database.sqlite_pragmas = with_synchronous
        setattr(writer, "sqlite_pragmas", with_synchronous)  # noqa: B010 (not re-exported)
    if os.environ.get("BENCH_GC_FREEZE") == "1":
        from gateway.runtime import GatewayRuntime

        run = GatewayRuntime.run

        async def frozen_run(self: GatewayRuntime) -> None:
            gc.collect()
            gc.freeze()
            await run(self)

        GatewayRuntime.run = frozen_run  # type: ignore[method-assign]


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[0] != "--output":
        raise SystemExit("usage: python -m bench.trace --output FILE run --config FILE")
    output = Path(argv[1])
    install(output)
    _watch_gc()
    experiments()
    from gateway.cli import main as gateway_main

    sys.argv = ["campus-gateway", *argv[2:]]
    gateway_main()


if __name__ == "__main__":
    main(sys.argv[1:])
