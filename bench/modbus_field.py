"""The field of benchmark C: `--devices` Modbus TCP devices, each a `PanelServer` (a real
pymodbus server, unit 1) on a port of its own, whose discrete input 0 flips at random times.

    python -m bench.modbus_field --devices 500 --rate 30 --min-gap 5 --seed 1 --output F

Reports `{"ready": true, "ports": [...], "values": [...]}` once every device listens, then
flips inputs until SIGTERM, writes `{"edges": [[time, device, value], ...]}` to F (JSON: too
long for a line of stdout) and reports `{"result": {"edges": n, "requests": n}}`. An edge's
time is the wall clock (`time.time()`) right after the new value is in the server's datastore,
so that any poll answered after it reads the new value.

Edges come as a Poisson process of `--rate` per second over the whole field, each on a device
drawn at random among those whose last edge is at least `--min-gap` seconds old, so that a
consumer polling every second never has two edges of one device to see in one poll.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import time
from contextlib import AsyncExitStack
from pathlib import Path

from bench.common import HOST, emit
from drivers.modbus.server import PanelServer
from drivers.modbus.types import Table

SIZE = 8  # inputs per table: only discrete input 0 is used


async def serve(
    devices: int, rate: float, min_gap: float, seed: int
) -> tuple[list[tuple[float, int, bool]], int]:
    """Serves and flips until SIGTERM: the edges, and the requests served."""
    rng = random.Random(seed)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    edges: list[tuple[float, int, bool]] = []
    async with AsyncExitStack() as stack:
        panels = [
            await stack.enter_async_context(PanelServer(host=HOST, port=0, size=SIZE))
            for _ in range(devices)
        ]
        values = [rng.random() < 0.5 for _ in panels]
        for panel, value in zip(panels, values, strict=True):
            await panel.set_bit(Table.DISCRETE_INPUT, 0, value)
        emit({"ready": True, "ports": [panel.port for panel in panels], "values": values})
        last = [-min_gap] * devices
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), rng.expovariate(rate))
            if stop.is_set():
                break
            now = time.monotonic()
            ready = [i for i in range(devices) if now - last[i] >= min_gap]
            if not ready:
                continue
            index = rng.choice(ready)
            values[index] = not values[index]
            await panels[index].set_bit(Table.DISCRETE_INPUT, 0, values[index])
            edges.append((time.time(), index, values[index]))
            last[index] = now
        requests = sum(sum(panel.requests.values()) for panel in panels)
    return edges, requests


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.modbus_field", description=__doc__)
    parser.add_argument("--devices", type=int, default=500)
    parser.add_argument("--rate", type=float, default=30.0, help="edges per second, all devices")
    parser.add_argument("--min-gap", type=float, default=5.0, help="seconds between two edges")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, required=True, help="the edges (JSON)")
    args = parser.parse_args()
    edges, requests = asyncio.run(serve(args.devices, args.rate, args.min_gap, args.seed))
    args.output.write_text(json.dumps({"edges": edges}))
    emit({"result": {"edges": len(edges), "requests": requests}})


if __name__ == "__main__":
    main()
