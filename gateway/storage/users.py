"""Accounts. The caller owns the transaction: nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.domain import Role
from gateway.errors import NotFound
from gateway.storage.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_username(self, username: str) -> User:
        """The account; NotFound when there is none."""
        if "\x00" in username:  # PostgreSQL text cannot hold NUL, so no account has one
            raise NotFound(f"no account {username!r}")
        user = await self.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise NotFound(f"no account {username!r}")
        return user

    async def add_or_update(
        self,
        username: str,
        password_hash: str,
        role: Role,
        school_id: str | None,
        *,
        station: str | None = None,
        district: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Create the account, or reset its password, role and whole scope (school, police
        station, district: one left out is cleared) and enable it again. True when it was
        created."""
        try:
            user = await self.get_by_username(username)
        except NotFound:
            self.session.add(
                User(
                    username=username,
                    password_hash=password_hash,
                    role=role.value,
                    school_id=school_id,
                    station=station,
                    district=district,
                    disabled=False,
                    created_at=now or datetime.now(UTC),
                )
            )
            await self.session.flush()
            return True
        user.password_hash = password_hash
        user.role = role.value
        user.school_id = school_id
        user.station = station
        user.district = district
        user.disabled = False
        await self.session.flush()
        return False

    async def list(self) -> Sequence[User]:
        """Every account, by username."""
        return (await self.session.scalars(select(User).order_by(User.username))).all()
