"""Pictures for alarms: on a press, a frame from the button's camera, fetched beside the
alarm and never in front of it. The outbox waits for it a moment (`linkage.snapshot_wait_s`)
before the first attempt; a picture that comes later is kept with the alarm's event (the
console shows it) and goes with any later attempt."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection

from drivers.camera import fetch_snapshot
from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.bus import EventBus
from gateway.domain import Picture
from gateway.errors import DeviceUnavailable
from gateway.health import HealthBoard
from gateway.settings import Settings
from gateway.storage.models import Alarm, Snapshot
from gateway.storage.retry import with_database
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.snapshots")
SNAPSHOTS: Table = Snapshot.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class SnapshotOutcome:
    picture: Picture | None
    problem: str | None = None  # why there is no picture


class AlarmSnapshots:
    def __init__(
        self, settings: Settings, writer: DatabaseWriter, health: HealthBoard, bus: EventBus
    ) -> None:
        self._settings = settings
        self._writer = writer
        self._health = health
        self._bus = bus
        self._queue: asyncio.Queue[tuple[Alarm, str, asyncio.Future[SnapshotOutcome]]] = (
            asyncio.Queue()
        )

    def request(self, alarm: Alarm) -> asyncio.Future[SnapshotOutcome] | None:
        """A future picture for an alarm whose button has a camera; None when it has none."""
        school = self._settings.school(alarm.school_id)
        camera = school.camera(alarm.camera_id) if school and alarm.camera_id else None
        if camera is None:
            return None
        future: asyncio.Future[SnapshotOutcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((alarm, camera.url, future))
        return future

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            while True:
                alarm, url, future = await self._queue.get()
                group.create_task(self._grab(alarm, url, future), name=f"snapshot:{alarm.alarm_id}")

    async def _grab(self, alarm: Alarm, url: str, future: asyncio.Future[SnapshotOutcome]) -> None:
        camera_id = alarm.camera_id or ""
        try:
            snapshot = await fetch_snapshot(
                camera_id, url, timeout_s=self._settings.linkage.snapshot_timeout_s
            )
        except DeviceUnavailable as exc:
            log.warning(
                "no picture for alarm %s from camera %s: %s", alarm.alarm_id, camera_id, exc
            )
            future.set_result(SnapshotOutcome(None, str(exc)))
            return
        picture = Picture(camera_id, snapshot.taken_at, snapshot.content_type, snapshot.data)
        future.set_result(SnapshotOutcome(picture))

        def store(connection: Connection) -> None:
            stored = connection.execute(
                insert(SNAPSHOTS)
                .values(
                    event_id=alarm.event_id,
                    camera_id=camera_id,
                    taken_at=picture.taken_at,
                    content_type=picture.content_type,
                    data=picture.data,
                )
                .returning(*SNAPSHOTS.c)
            ).all()
            journal_rows(connection, SNAPSHOTS, stored, action=EntryAction.INSERT)

        await with_database(lambda: self._writer.run(store), self._health)
        if self._bus.listened:
            self._bus.publish(
                "snapshot",
                {"alarm_id": alarm.alarm_id, "school_id": alarm.school_id, "camera_id": camera_id},
            )
