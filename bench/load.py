"""Telemetry for the benchmarks: gate events `campus/{school}/gate/{gate}/event` with
`{"event": "guard_on"|"guard_off", "ts": ..., "id": ...}`, QoS 1, unique ids.

    python -m bench.load steady --port P --rate 1000 --seconds 60 --tag t1
        publishes at a steady rate (in 5 ms ticks, each waiting for its PUBACKs) until SIGTERM
        or --seconds; reports how many it sent and the rate achieved.
    python -m bench.load bulk --port P --count 100000 --tag b1
        publishes `count` messages as fast as the broker acknowledges them; reports the rate.

`--gates FILE` (a JSON list of [school, gate]) spreads them over other gates than the two of
tests/support/site.py's site (benchmark D's city).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho

from bench.common import GATES, HOST, PREFIX, emit

TICK_S = 0.005
BULK_CHUNK = 2000


Gates = Sequence[tuple[str, str]]


def gate_message(tag: str, index: int, gates: Gates = GATES) -> tuple[str, bytes]:
    school, gate = gates[index % len(gates)]
    payload = {
        "event": "guard_on" if index % 4 < 2 else "guard_off",
        "ts": datetime.now(UTC).astimezone().isoformat(timespec="milliseconds"),
        "id": f"{tag}-{index}",
    }
    return f"{PREFIX}/{school}/gate/{gate}/event", json.dumps(payload).encode()


def _client(port: int, client_id: str, inflight: int) -> aiomqtt.Client:
    quiet = logging.getLogger("bench.load.mqtt")
    quiet.setLevel(logging.ERROR)
    client = aiomqtt.Client(
        HOST, port, identifier=client_id, logger=quiet, max_inflight_messages=inflight, timeout=30
    )
    client.pending_calls_threshold = 1_000_000
    return client


async def steady(port: int, rate: int, seconds: float, tag: str, gates: Gates = GATES) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    sent = 0
    async with _client(port, f"bench-load-{tag}", 1000) as client:
        emit({"ready": True})
        start = time.monotonic()
        while not stop.is_set() and time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate)
            burst = min(due - sent, rate)  # catch up at most a second's worth at once
            if burst > 0:
                messages = [gate_message(tag, i, gates) for i in range(sent, sent + burst)]
                await asyncio.gather(*(client.publish(t, p, qos=1) for t, p in messages))
                sent += burst
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)
        elapsed = time.monotonic() - start
    emit({"result": {"sent": sent, "seconds": elapsed, "rate": sent / elapsed if elapsed else 0.0}})


async def bulk(port: int, count: int, tag: str, gates: Gates = GATES) -> None:
    async with _client(port, f"bench-bulk-{tag}", BULK_CHUNK) as client:
        emit({"ready": True})
        raw = client._client  # paho's own publish does not wait: the chunk pipelines
        start = time.monotonic()
        for first in range(0, count, BULK_CHUNK):
            infos: list[paho.MQTTMessageInfo] = []
            for index in range(first, min(count, first + BULK_CHUNK)):
                topic, payload = gate_message(tag, index, gates)
                infos.append(raw.publish(topic, payload, qos=1))
            deadline = time.monotonic() + 30
            while not all(info.is_published() for info in infos):
                if time.monotonic() > deadline:
                    raise TimeoutError("the broker did not acknowledge a chunk within 30 s")
                await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
    emit({"result": {"sent": count, "seconds": elapsed, "rate": count / elapsed}})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("mode", choices=["steady", "bulk"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tag", required=True, help="prefix of the message ids")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--gates", type=Path, help="a JSON list of [school, gate]")
    args = parser.parse_args()
    gates: Gates = GATES
    if args.gates is not None:
        gates = [(str(school), str(gate)) for school, gate in json.loads(args.gates.read_text())]
    if args.mode == "steady":
        asyncio.run(steady(args.port, args.rate, args.seconds, args.tag, gates))
    else:
        asyncio.run(bulk(args.port, args.count, args.tag, gates))


if __name__ == "__main__":
    main()
