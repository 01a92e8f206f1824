"""People's actions that leave no other record (exports, verifications), kept in
`user_actions`, which is itself in the tamper-evident log."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from gateway.storage.models import UserAction


async def record_user_action(
    session: AsyncSession,
    *,
    username: str,
    role: str,
    action: str,
    subject: str,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add the action to the session's transaction; the caller commits."""
    session.add(
        UserAction(
            at=at or datetime.now(UTC),
            username=username,
            role=role,
            action=action,
            subject=subject[:200],
            detail=detail,
        )
    )
    await session.flush()
