"""The bare baseline of benchmark C: a minimal pymodbus polling loop, in a process of its own.

    python -m bench.modbus_bare --ports-file F --output G [--interval 1.0] [--timeout 1.0]

One `AsyncModbusTcpClient` per device (the ports in F, one per line; device i is line i), each
polled by a task of its own with `read_discrete_inputs(0, count=1, device_id=1)` at a fixed
rate (the n-th poll due at start + n * interval, the starts spread over one interval, missed
slots skipped), as the gateway's poller does. It notes the wall-clock time (`time.time()`)
when an answer shows a value different from the one before; nothing else: no grouping of
devices, no events, no storage, no error handling beyond counting failures.

Reports `{"ready": true}` once every client is connected; on SIGTERM writes
`{"changes": [[time, device, value], ...]}` to G and reports
`{"result": {"changes": n, "polls": n, "failures": n}}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import random
import signal
import sys
import time
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from bench.common import HOST, emit


class Counts:
    def __init__(self) -> None:
        self.polls = 0
        self.failures = 0
        self.changes: list[tuple[float, int, bool]] = []


async def poll(
    index: int, client: AsyncModbusTcpClient, interval: float, counts: Counts, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    start = loop.time() + random.uniform(0, interval)
    slot = 0
    previous: bool | None = None
    # Not `while True`: on Python 3.11 asyncio.wait_for (inside pymodbus) swallows a
    # cancellation that arrives together with the answer, and the task would poll on.
    while not stop.is_set():
        if (delay := start + slot * interval - loop.time()) > 0:
            await asyncio.sleep(delay)
        counts.polls += 1
        try:
            answer = await client.read_discrete_inputs(0, count=1, device_id=1)
        except (ModbusException, TimeoutError, OSError):
            counts.failures += 1
        else:
            if answer.isError():
                counts.failures += 1
            else:
                value = bool(answer.bits[0])
                if previous is not None and value != previous:
                    counts.changes.append((time.time(), index, value))
                previous = value
        slot = max(slot + 1, math.floor((loop.time() - start) / interval) + 1)


async def run(ports: list[int], interval: float, answer_timeout_s: float) -> Counts:
    """Polls until SIGTERM; what it saw."""
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    clients = [
        AsyncModbusTcpClient(HOST, port=port, timeout=answer_timeout_s, retries=0) for port in ports
    ]
    connected = await asyncio.gather(*(client.connect() for client in clients))
    if not all(connected):
        raise SystemExit(f"{connected.count(False)} of {len(ports)} devices did not connect")
    counts = Counts()
    emit({"ready": True})
    tasks = [
        asyncio.create_task(poll(index, client, interval, counts, stop), name=f"poll:{index}")
        for index, client in enumerate(clients)
    ]
    await stop.wait()
    print(f"bare loop: stopping after {counts.polls} polls", file=sys.stderr, flush=True)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        client.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.modbus_bare", description=__doc__)
    parser.add_argument("--ports-file", type=Path, required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--output", type=Path, required=True, help="the changes seen (JSON)")
    args = parser.parse_args()
    ports = [int(line) for line in args.ports_file.read_text().split()]
    counts = asyncio.run(run(ports, args.interval, args.timeout))
    args.output.write_text(json.dumps({"changes": counts.changes}))
    result = {"changes": len(counts.changes), "polls": counts.polls, "failures": counts.failures}
    emit({"result": result})


if __name__ == "__main__":
    main()
