"""Polls Modbus devices and turns what they answer into events.

`async with ModbusPoller(specs) as poller: async for event in poller.events(): ...`

Each device has its own task (`modbus:{device_id}`) polling at a fixed rate: the n-th poll is
due at start + n * poll_interval_s, and slots missed while a poll ran late are skipped, not
made up in a burst; so a change reaches `events()` at most one interval plus the time of the
answer after it happened. Devices share a connection only with devices on the same link
(see `drivers.modbus.link`).

Failures are counted per poll slot: while a link is down, each due poll fails at once
(without touching the network until the link's reconnect backoff has passed), so "offline
after N failed polls" means after N intervals whatever the backoff.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from drivers.modbus.link import ModbusLink
from drivers.modbus.plan import ReadBlock, plan_reads
from drivers.modbus.types import (
    DeviceSpec,
    DeviceState,
    LinkChanged,
    ModbusEvent,
    Point,
    PointChanged,
    PollFailed,
)
from gateway.errors import ConfigError, DeviceUnavailable

log = logging.getLogger("drivers.modbus")

# Devices started together would all poll in the same instant, every interval: spread their
# first polls over up to this long (or their interval, if shorter).
START_SPREAD_S = 1.0
# Device tasks wait when the consumer falls this far behind, rather than drop an event.
QUEUE_SIZE = 10_000


# Where a point's value is in a block's answer: (the point's place in _Device.points, offset
# of its address from the block's start, its bit or None).
_Slot = tuple[int, int, int | None]


@dataclass(slots=True)
class _Device:
    """What the poller knows of one device (mutable, owned by the device's task)."""

    spec: DeviceSpec
    blocks: list[tuple[ReadBlock, tuple[_Slot, ...]]]
    points: tuple[Point, ...]  # each once, in the spec's order (the order of the events)
    values: list[bool | None]  # the last value of each of `points` (None: not read yet)
    online: bool | None = None
    consecutive_failures: int = 0
    last_ok_at: float | None = None  # time.time() of the last good poll
    last_error: str | None = None

    @classmethod
    def of(cls, spec: DeviceSpec) -> _Device:
        points = tuple(dict.fromkeys(spec.points))
        place = {point: index for index, point in enumerate(points)}
        blocks = [
            (block, tuple((place[p], p.address - block.start, p.bit) for p in block.points))
            for block in plan_reads(points)
        ]
        return cls(spec, blocks, points, [None] * len(points))


class ModbusPoller:
    """`async with ModbusPoller(specs) as poller: async for event in poller.events(): ...`

    Events per device: LinkChanged(online=True) and PointChanged(previous=None) for every
    point at the first good poll; then a PointChanged for each value that changed; a
    PollFailed for each failed poll, and LinkChanged(online=False) once, when the failures
    in a row reach the device's `offline_after_failures`; at the first good poll after that,
    LinkChanged(online=True) and the values that changed meanwhile. Nothing raises out of
    `events()`; device errors only become events."""

    def __init__(self, devices: Sequence[DeviceSpec]) -> None:
        problems = _check(devices)
        if problems:
            raise ConfigError(problems)
        self._devices = {d.device_id: _Device.of(d) for d in devices}
        self._links: dict[str, ModbusLink] = {}
        self._queue: asyncio.Queue[ModbusEvent | None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self._closing = False

    async def __aenter__(self) -> ModbusPoller:
        # pymodbus logs every stale frame and failed connect at WARNING/ERROR: a dead device
        # would fill the log. Our own log says it once per fault; an explicit level set by
        # the operator is respected.
        pymodbus_log = logging.getLogger("pymodbus")
        if pymodbus_log.level == logging.NOTSET:
            pymodbus_log.setLevel(logging.CRITICAL)
        self._queue = asyncio.Queue(QUEUE_SIZE)
        by_link: dict[str, list[DeviceSpec]] = {}
        for device in self._devices.values():
            by_link.setdefault(device.spec.link, []).append(device.spec)
        self._links = {key: ModbusLink(specs) for key, specs in by_link.items()}
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        self._tasks = [
            group.create_task(self._run(device), name=f"modbus:{device_id}")
            for device_id, device in self._devices.items()
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # pymodbus's wait_for (Python 3.11) can swallow a cancellation that arrives just as
        # an answer does; the poll loops also stop on this flag, or the exit would wait forever.
        self._closing = True
        for task in self._tasks:
            task.cancel()
        try:
            if self._group is not None:
                # Not handing the body's exception to the group: it would come back wrapped
                # in an ExceptionGroup. It propagates as it is once we return.
                await self._group.__aexit__(None, None, None)
        finally:
            self._group, self._tasks = None, []
            for link in self._links.values():
                link.close()
            self._closed = True
            if self._queue is not None and not self._queue.full():
                self._queue.put_nowait(None)  # wakes a reader waiting in events()

    async def events(self) -> AsyncIterator[ModbusEvent]:
        """Events in the order they happened, until the poller is closed."""
        queue = self._queue
        if queue is None:
            raise RuntimeError("use `async with ModbusPoller(...)` before reading events()")
        while not (self._closed and queue.empty()):
            event = await queue.get()
            if event is None:
                break
            yield event
        if not queue.full():
            queue.put_nowait(None)  # a second reader ends too

    def states(self) -> list[DeviceState]:
        return [
            DeviceState(
                device_id=device_id,
                online=d.online,
                consecutive_failures=d.consecutive_failures,
                last_ok_at=_utc(d.last_ok_at),
                last_error=d.last_error,
            )
            for device_id, d in self._devices.items()
        ]

    async def _emit(self, event: ModbusEvent) -> None:
        assert self._queue is not None
        await self._queue.put(event)  # waits while the consumer is QUEUE_SIZE events behind

    async def _run(self, device: _Device) -> None:
        spec = device.spec
        link = self._links[spec.link]
        loop = asyncio.get_running_loop()
        interval = spec.poll_interval_s
        start = loop.time() + random.uniform(0, min(interval, START_SPREAD_S))
        slot = 0
        while not self._closing:
            if (delay := start + slot * interval - loop.time()) > 0:
                await asyncio.sleep(delay)
            await self._poll(device, link)
            # Fixed rate: the next slot still ahead; missed ones are skipped, not bunched.
            slot = max(slot + 1, math.floor((loop.time() - start) / interval) + 1)

    async def _poll(self, device: _Device, link: ModbusLink) -> None:
        spec = device.spec
        values: list[bool | None] = [None] * len(device.points)
        try:
            if not device.blocks:
                await link.check(spec.timeout_s)
            for block, slots in device.blocks:
                raw = await link.read(spec.unit, block, spec.timeout_s)  # >= block.count items
                for place, offset, bit in slots:
                    item = int(raw[offset])
                    values[place] = bool(item) if bit is None else bool((item >> bit) & 1)
        except DeviceUnavailable as exc:
            await self._failed(device, str(exc))
            return
        now = time.time()
        if device.online and not device.consecutive_failures and values == device.values:
            device.last_ok_at = now  # the usual poll: nothing to tell
            return
        await self._answered(device, values, now)

    async def _failed(self, device: _Device, detail: str) -> None:
        spec = device.spec
        at = datetime.now(UTC)
        device.consecutive_failures += 1
        device.last_error = detail
        if device.consecutive_failures == 1:
            log.warning("modbus device %s not answering: %s", spec.device_id, detail)
        await self._emit(PollFailed(spec.device_id, detail, device.consecutive_failures, at))
        if device.online is not False and (
            device.consecutive_failures >= spec.offline_after_failures
        ):
            device.online = False
            summary = f"{device.consecutive_failures} failed polls in a row, last: {detail}"
            await self._emit(LinkChanged(spec.device_id, False, summary, at))

    async def _answered(self, device: _Device, values: list[bool | None], now: float) -> None:
        spec = device.spec
        at = datetime.fromtimestamp(now, UTC)
        failures = device.consecutive_failures
        if failures:
            log.warning(
                "modbus device %s answers again after %d failed polls", spec.device_id, failures
            )
        device.consecutive_failures = 0
        device.last_ok_at = now
        if device.online is not True:
            detail = "answering" if failures == 0 else f"answering after {failures} failed polls"
            device.online = True
            await self._emit(LinkChanged(spec.device_id, True, detail, at))
        for place, point in enumerate(device.points):
            value, previous = values[place], device.values[place]
            if value != previous:
                assert value is not None  # every point was read
                device.values[place] = value
                await self._emit(PointChanged(spec.device_id, point, value, previous, at))


def _utc(timestamp: float | None) -> datetime | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC)


def _check(devices: Sequence[DeviceSpec]) -> list[str]:
    """Problems that only show across devices: repeated ids, one line with two settings."""
    problems: list[str] = []
    seen: set[str] = set()
    serial_lines: dict[str, DeviceSpec] = {}
    for spec in devices:
        if spec.device_id in seen:
            problems.append(f"modbus device {spec.device_id!r} is given twice")
        seen.add(spec.device_id)
        if spec.serial is not None:
            other = serial_lines.setdefault(spec.serial.port, spec)
            if other.serial != spec.serial:
                problems.append(
                    f"modbus devices {other.device_id!r} and {spec.device_id!r} share serial "
                    f"port {spec.serial.port} with different line settings"
                )
    return problems
