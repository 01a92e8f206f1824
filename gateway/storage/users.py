"""Accounts. The caller owns the transaction: nothing here commits.

Every change of an account gives it a new epoch (`new_epoch`), which ends the bearer tokens
and web sessions issued before: they carry the old one (gateway/auth/tokens.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import new_epoch
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
        station, district: one left out is cleared) and enable it again, ending its tokens.
        True when it was created."""
        now = now or datetime.now(UTC)
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
                    created_at=now,
                    token_epoch=new_epoch(),
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
        _changed(user, now)
        await self.session.flush()
        return False

    async def set_disabled(self, username: str, disabled: bool, *, now: datetime) -> User:
        """Disable the account (or enable it again), ending its tokens; NotFound when there
        is none. An account already so is left as it is."""
        user = await self.get_by_username(username)
        if user.disabled != disabled:
            user.disabled = disabled
            _changed(user, now)
            await self.session.flush()
        return user

    async def remove(self, username: str) -> User:
        """Delete the account and return it as it was; NotFound when there is none. Its
        tokens end with the row, and an account made again under the name gets a new epoch."""
        user = await self.get_by_username(username)
        await self.session.delete(user)
        await self.session.flush()
        return user

    async def list(self) -> Sequence[User]:
        """Every account, by username."""
        return (await self.session.scalars(select(User).order_by(User.username))).all()


def _changed(user: User, now: datetime) -> None:
    user.token_epoch = new_epoch()
    user.changed_at = now
