"""Device rows: the configured devices and their last known online state."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import DeviceKind
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

    async def count_online(self) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Device).where(Device.online.is_(True))
        )
        return int(result.scalar_one())
