"""Pieces of benchmark C (bench/modbus_poll.py): the gateway's site for the field's devices,
matching edges to what a consumer saw, and reading the gateway's events as they are stored."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from bisect import bisect_left
from typing import Any

from sqlalchemy import select

from bench.common import HOST, DatabaseTarget
from gateway.storage.database import create_engine
from gateway.storage.models import Event

GATES_PER_SCHOOL = 10
WATCH_S = 0.02

Edge = tuple[float, int, bool]  # wall-clock time, device, new value


def match(
    edges: list[Edge], seen: list[Edge], start: float, end: float
) -> tuple[int, list[tuple[Edge, int | None]]]:
    """For each edge in [start, end): the index in `seen` of the first sighting of its new value
    on its device at or after it and before that device's next edge (None: missed)."""
    sightings: dict[int, list[tuple[float, bool, int]]] = {}
    for index, (at, device, value) in enumerate(seen):
        sightings.setdefault(device, []).append((at, value, index))
    for rows in sightings.values():
        rows.sort()
    following: dict[int, float] = {}
    matched: list[tuple[Edge, int | None]] = []
    for edge in sorted(edges, reverse=True):  # latest first: each device's next edge is known
        at, device, value = edge
        next_edge = following.get(device, math.inf)
        following[device] = at
        if not start <= at < end:
            continue
        rows = sightings.get(device, [])
        found = None
        for seen_at, seen_value, index in rows[bisect_left(rows, (at, False, -1)) :]:
            if seen_at >= next_edge:
                break
            if seen_value == value:
                found = index
                break
        matched.append((edge, found))
    matched.reverse()
    return len(matched), matched


def school_and_gate(device: int) -> tuple[str, str]:
    return f"school-{device // GATES_PER_SCHOOL:03d}", f"gate-{device % GATES_PER_SCHOOL}"


def modbus_site(
    tree: dict[str, Any], ports: list[int], *, interval_s: float, timeout_s: float
) -> None:
    """Replace the test site's schools by ports/10 schools of 10 gates, each gate's post
    signal on discrete input 0 of one device (one device per port)."""
    schools: dict[str, list[dict[str, str]]] = {}
    devices, signals = [], []
    for device, port in enumerate(ports):
        school, gate = school_and_gate(device)
        schools.setdefault(school, []).append({"id": gate, "name": f"{gate} of {school}"})
        device_id = f"panel-{device:04d}"
        devices.append(
            {
                "id": device_id,
                "host": HOST,
                "port": port,
                "unit": 1,
                "poll_interval_s": interval_s,
                "timeout_s": timeout_s,
            }
        )
        signals.append(
            {
                "device": device_id,
                "table": "discrete_input",
                "address": 0,
                "school": school,
                "target": f"gate/{gate}",
                "on": "guard_on",
                "off": "guard_off",
            }
        )
    tree["schools"] = [
        {"id": school, "name": f"bench {school}", "gates": gates}
        for school, gates in schools.items()
    ]
    tree["modbus"] = {"devices": devices, "signals": signals}


class EventWatch:
    """Reads the gateway's new Modbus events every WATCH_S on a connection of its own: each
    row's device, value and `received_at`, and the time the bench first saw it."""

    def __init__(self, target: DatabaseTarget, devices: int) -> None:
        self.engine = create_engine(target.url, schema=target.schema)
        self.device_of = {school_and_gate(d): d for d in range(devices)}
        self.last_id = 0
        self.received: list[Edge] = []
        self.visible: list[float] = []

    async def read(self) -> None:
        c = Event.__table__.c
        query = (
            select(c.id, c.school_id, c.device_id, c.kind, c.received_at)
            .where(c.id > self.last_id, c.transport == "modbus")
            .order_by(c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        now = time.time()
        for event_id, school, gate, kind, received_at in rows:
            self.last_id = max(self.last_id, int(event_id))
            device = self.device_of.get((school, gate))
            if device is None or kind not in ("guard_on", "guard_off"):
                continue
            self.received.append((received_at.timestamp(), device, kind == "guard_on"))
            self.visible.append(now)

    async def watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.read()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), WATCH_S)
        await self.read()

    async def dispose(self) -> None:
        await self.engine.dispose()
