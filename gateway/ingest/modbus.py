"""Modbus devices into the gateway (spec 3): a change of a mapped signal becomes the same
event as its MQTT twin; a device that stops answering takes the devices it serves offline
and raises an alert, and its recovery clears it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from drivers.modbus import (
    DeviceSpec,
    LinkChanged,
    ModbusEvent,
    ModbusPoller,
    Point,
    PointChanged,
    PollFailed,
    SerialSpec,
    Table,
)
from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.ingest.decode import StatusChange
from gateway.ingest.pipeline import IngestPipeline
from gateway.settings import ModbusDevice, ModbusSignal, Settings
from gateway.storage.models import Event
from gateway.storage.retry import with_database

log = logging.getLogger("gateway.modbus")
# Point changes wait this long for company before they are stored (alarms never wait).
LINGER_S = 0.1


async def _next(queue: asyncio.Queue[ModbusEvent], timeout_s: float) -> ModbusEvent | None:
    """The next event if one comes within `timeout_s`, else None (time to store)."""
    if not queue.empty():
        return queue.get_nowait()
    if timeout_s <= 0:
        return None
    try:
        async with asyncio.timeout(timeout_s):
            return await queue.get()
    except TimeoutError:
        return None


def point_of(signal: ModbusSignal) -> Point:
    return Point(Table(signal.table), signal.address, signal.bit)


def device_specs(settings: Settings) -> list[DeviceSpec]:
    """One spec per configured device that has at least one mapped signal."""
    points: dict[str, list[Point]] = defaultdict(list)
    for signal in settings.modbus.signals:
        point = point_of(signal)
        if point not in points[signal.device]:
            points[signal.device].append(point)
    return [
        _spec(device, tuple(points[device.id]))
        for device in settings.modbus.devices
        if points[device.id]
    ]


def _spec(device: ModbusDevice, points: tuple[Point, ...]) -> DeviceSpec:
    serial = None
    if device.serial is not None:
        line = device.serial
        serial = SerialSpec(line.port, line.baudrate, line.parity, line.stopbits, line.bytesize)
    return DeviceSpec(
        device_id=device.id,
        unit=device.unit,
        points=points,
        host=device.host,
        port=device.port,
        serial=serial,
        poll_interval_s=device.poll_interval_s,
        timeout_s=device.timeout_s,
        offline_after_failures=device.offline_after_failures,
    )


@dataclass(frozen=True, slots=True)
class _Mapping:
    signal: ModbusSignal
    ref: DeviceRef


def _point_text(device_id: str, point: Point) -> str:
    bit = f".{point.bit}" if point.bit is not None else ""
    return f"{device_id}/{point.table.value}/{point.address}{bit}"


class ModbusIngest:
    def __init__(
        self, context: GatewayContext, pipeline: IngestPipeline, alerts: AlertOutbox
    ) -> None:
        self._context = context
        self._pipeline = pipeline
        self._alerts = alerts
        settings = context.settings
        self._specs = device_specs(settings)
        self._units = {d.id: d.unit for d in settings.modbus.devices}
        self._mappings: dict[tuple[str, Point], list[_Mapping]] = defaultdict(list)
        self._served: dict[str, list[DeviceRef]] = defaultdict(list)
        for signal in settings.modbus.signals:
            ref = DeviceRef(signal.school, signal.target_kind, signal.target_id)
            self._mappings[(signal.device, point_of(signal))].append(_Mapping(signal, ref))
            if ref not in self._served[signal.device]:
                self._served[signal.device].append(ref)
        self._offline: set[str] = set()

    @property
    def configured(self) -> bool:
        return bool(self._specs)

    async def run(self) -> None:
        for spec in self._specs:
            self._context.metrics.modbus_device_online.labels(spec.device_id).set(0)
        queue: asyncio.Queue[ModbusEvent] = asyncio.Queue()
        async with ModbusPoller(self._specs) as poller, asyncio.TaskGroup() as group:
            group.create_task(self._read(poller, queue), name="modbus:read")
            group.create_task(self._store(queue), name="modbus:store")

    @staticmethod
    async def _read(poller: ModbusPoller, queue: asyncio.Queue[ModbusEvent]) -> None:
        async for event in poller.events():
            queue.put_nowait(event)

    async def _store(self, queue: asyncio.Queue[ModbusEvent]) -> None:
        """Changes are stored in batches gathered for up to `LINGER_S` (one transaction for
        many gate inputs at a shift change); an alarm is stored at once, with what came
        before it. Link changes keep their place in the order."""
        loop = asyncio.get_running_loop()
        while True:
            pending: list[DeviceEvent] = []
            deadline = loop.time() + LINGER_S
            event: ModbusEvent | None = await queue.get()
            while event is not None:
                if isinstance(event, PointChanged):
                    pending += await self._changes(event)
                elif isinstance(event, PollFailed):
                    self._context.metrics.modbus_poll_failures.labels(event.device_id).inc()
                else:
                    await self._submit(pending)
                    await self._link_changed(event)
                if any(e.is_alarm for e in pending):
                    break
                event = await _next(queue, deadline - loop.time())
            await self._submit(pending)

    async def _submit(self, pending: list[DeviceEvent]) -> None:
        if pending:
            await self._pipeline.submit(list(pending))
            pending.clear()

    async def _changes(self, change: PointChanged) -> list[DeviceEvent]:
        events: list[DeviceEvent] = []
        for mapping in self._mappings[(change.device_id, change.point)]:
            events += await self._events_for(mapping, change)
        return events

    async def _events_for(self, mapping: _Mapping, change: PointChanged) -> list[DeviceEvent]:
        signal = mapping.signal
        kind = signal.on if change.value else signal.off
        if kind is None:
            return []  # this signal maps only one edge
        if change.previous is None and not await self._first_reading_is_news(mapping, kind):
            return []
        event = DeviceEvent(
            device=mapping.ref,
            kind=kind,
            message_id=f"mb-{_point_text(change.device_id, change.point)}-"
            f"{int(change.observed_at.timestamp() * 1000)}",
            occurred_at=change.observed_at,
            received_at=change.observed_at,
            transport=Transport.MODBUS,
            topic=f"modbus://{_point_text(change.device_id, change.point)}",
            raw_payload=json.dumps(
                {
                    "device": change.device_id,
                    "unit": self._units.get(change.device_id),
                    "table": change.point.table.value,
                    "address": change.point.address,
                    "bit": change.point.bit,
                    "value": change.value,
                    "previous": change.previous,
                },
                separators=(",", ":"),
            ),
        )
        return [event]

    async def _first_reading_is_news(self, mapping: _Mapping, kind: EventKind) -> bool:
        """The first reading after a start is an event only if it says something the record
        does not: a button still latched from a press already forwarded is not a new press,
        and an idle button is not a restore. A gate's first reading always settles its state
        unless the record already holds it."""
        signal = mapping.signal
        kinds = [k.value for k in (signal.on, signal.off) if k is not None]
        # The database may be away for a while: wait for the record, do not guess.
        last = await with_database(lambda: self._last_kind(mapping, kinds), self._context.health)
        if last is not None:
            return bool(last != kind.value)
        return mapping.ref.kind is DeviceKind.GATE or kind is signal.on

    async def _last_kind(self, mapping: _Mapping, kinds: list[str]) -> str | None:
        c = Event.__table__.c
        async with self._context.sessions() as session:
            return await session.scalar(
                select(c.kind)
                .where(
                    c.school_id == mapping.ref.school_id,
                    c.device_kind == mapping.ref.kind.value,
                    c.device_id == mapping.ref.device_id,
                    c.transport == Transport.MODBUS.value,
                    c.kind.in_(kinds),
                )
                .order_by(c.occurred_at.desc(), c.id.desc())
                .limit(1)
            )

    async def _link_changed(self, event: LinkChanged) -> None:
        metrics = self._context.metrics
        metrics.modbus_device_online.labels(event.device_id).set(1 if event.online else 0)
        served = self._served[event.device_id]
        await self._pipeline.submit(
            [], [StatusChange(ref, online=event.online, received_at=event.at) for ref in served]
        )
        if event.online and event.device_id not in self._offline:
            return  # the first answer after a start: nothing was raised
        if event.online:
            self._offline.discard(event.device_id)
        else:
            self._offline.add(event.device_id)
        await self._alerts.raise_alerts(self._link_alerts(event, served))

    def _link_alerts(self, event: LinkChanged, served: list[DeviceRef]) -> list[Alert]:
        schools: dict[str, list[str]] = defaultdict(list)
        for ref in served:
            schools[ref.school_id].append(f"{ref.kind.value}/{ref.device_id}")
        kind = AlertKind.DEVICE_ONLINE if event.online else AlertKind.DEVICE_OFFLINE
        verb = "已恢复通信" if event.online else "无响应，已离线"
        return [
            Alert(
                school_id=school_id,
                kind=kind,
                subject_kind="modbus",
                subject_id=event.device_id,
                raised_at=event.at,
                message=f"Modbus设备{event.device_id}{verb}",
                details={"detail": event.detail, "devices": targets},
            )
            for school_id, targets in schools.items()
        ]
