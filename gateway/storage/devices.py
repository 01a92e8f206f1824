"""Device rows: the configured devices and their last known online state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import DeviceKind, DeviceRef
from gateway.settings import Settings
from gateway.storage.models import Device


class DeviceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sync_from_settings(self, settings: Settings) -> None:
        """Add a row for every configured device not yet known (rows are never deleted:
        history refers to them)."""
        existing = {
            (row.school_id, row.kind, row.device_id)
            for row in (await self.session.execute(select(Device))).scalars()
        }
        for school in settings.schools:
            for kind in DeviceKind:
                for device_id in sorted(school.device_ids(kind)):
                    if (school.id, kind.value, device_id) not in existing:
                        self.session.add(
                            Device(school_id=school.id, kind=kind.value, device_id=device_id)
                        )

    async def set_online(self, ref: DeviceRef, *, online: bool, at: datetime) -> bool:
        """Record a status; return True when it changed."""
        row = await self._get(ref)
        changed = row.online is not online
        if changed:
            row.online = online
            row.status_changed_at = at
        row.last_seen_at = at
        return changed

    async def count_online(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Device).where(Device.online.is_(True))
        )
        return int(result.scalar_one())

    async def _get(self, ref: DeviceRef) -> Device:
        row = (
            await self.session.execute(
                select(Device).where(
                    Device.school_id == ref.school_id,
                    Device.kind == ref.kind.value,
                    Device.device_id == ref.device_id,
                )
            )
        ).scalar_one_or_none()
        if row is None:
            row = Device(school_id=ref.school_id, kind=ref.kind.value, device_id=ref.device_id)
            self.session.add(row)
        return row
