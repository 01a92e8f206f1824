"""Sign-ins on the web pages. The caller owns the transaction: nothing here commits."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.errors import NotFound
from gateway.storage.models import WebSession


class WebSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def start(
        self,
        token_hash: str,
        username: str,
        *,
        account_epoch: str | None,
        now: datetime,
        ttl_s: int,
    ) -> WebSession:
        """Record a new sign-in of the account as it is now (its epoch, `users.token_epoch`:
        the session ends when the account changes); sessions that ended or expired more than
        a day ago go."""
        await self.session.execute(
            delete(WebSession).where(WebSession.expires_at < now - timedelta(days=1))
        )
        row = WebSession(
            token_hash=token_hash,
            username=username,
            account_epoch=account_epoch,
            created_at=now,
            expires_at=now + timedelta(seconds=ttl_s),
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def active(self, token_hash: str, *, now: datetime) -> WebSession:
        """The session, when it has neither ended nor expired; NotFound otherwise."""
        row = await self.session.scalar(
            select(WebSession).where(WebSession.token_hash == token_hash)
        )
        if row is None or row.ended_at is not None or row.expires_at <= now:
            raise NotFound("no such session, or it has ended")
        return row

    async def end(self, token_hash: str, *, now: datetime) -> None:
        """Sign out: the cookie's session no longer signs anyone in (a no-op when gone)."""
        await self.session.execute(
            update(WebSession)
            .where(WebSession.token_hash == token_hash, WebSession.ended_at.is_(None))
            .values(ended_at=now)
        )

    async def end_all(self, username: str, *, now: datetime) -> int:
        """Sign an account out on every browser (it was changed, disabled or removed)."""
        result = await self.session.execute(
            update(WebSession)
            .where(WebSession.username == username, WebSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
