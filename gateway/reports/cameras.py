"""Which cameras were known offline at a moment. The gateway keeps no status row for cameras
(the `devices` table holds buttons, gates and checkpoints); a camera's link is on record as
its `device_offline` / `device_online` alerts, raised by the presence watcher."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.alerts import AlertKind
from gateway.storage.models import GatewayAlert

__all__ = ["offline_cameras"]

CAMERA_SUBJECT = "camera"


async def offline_cameras(
    session: AsyncSession, *, at: datetime, school_ids: Sequence[str] | None = None
) -> frozenset[tuple[str, str]]:
    """(school, camera) whose last link alert before `at` said offline."""
    a = GatewayAlert
    ranked = select(
        a.school_id,
        a.subject_id,
        a.kind,
        func.row_number()
        .over(partition_by=(a.school_id, a.subject_id), order_by=(a.raised_at.desc(), a.id.desc()))
        .label("rank"),
    ).where(
        a.subject_kind == CAMERA_SUBJECT,
        a.kind.in_([AlertKind.DEVICE_OFFLINE.value, AlertKind.DEVICE_ONLINE.value]),
        a.raised_at < at,
    )
    if school_ids is not None:
        ranked = ranked.where(a.school_id.in_(school_ids))
    latest = ranked.subquery()
    rows = await session.execute(
        select(latest.c.school_id, latest.c.subject_id).where(
            latest.c.rank == 1, latest.c.kind == AlertKind.DEVICE_OFFLINE.value
        )
    )
    return frozenset((school_id, camera_id) for school_id, camera_id in rows)
