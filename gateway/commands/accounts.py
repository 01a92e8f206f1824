"""`campus-gateway user list`, `user disable`, `user enable` and `user remove`.

Each change gives the account a new epoch, which ends its bearer tokens and web sessions at
once (gateway/auth/tokens.py); its web sessions are also marked ended. The account's row is
in the audit log like every write, and each change is recorded in `user_actions` as the
command line's, naming the account (a removed row leaves only its id in the log)."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.audit.actions import record_user_action
from gateway.domain import Role
from gateway.errors import StorageError
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.models import User
from gateway.storage.users import UserRepository
from gateway.storage.web_sessions import WebSessionRepository

CLI_ACTOR = "cli"  # who the audit log says did it, as for the other commands
CLI_ROLE = "admin"
T = TypeVar("T")


class AccountChange(StrEnum):
    CREATED = "created"
    RESET = "reset"  # password, role and scope set again by `user add`
    DISABLED = "disabled"
    ENABLED = "enabled"
    REMOVED = "removed"

    @property
    def action(self) -> str:
        """How the change is named in `user_actions`."""
        return f"account.{self.value}"


@dataclass(frozen=True, slots=True)
class Account:
    """An account as `user list` shows it: no password hash, no epoch."""

    username: str
    role: Role
    school_id: str | None
    station: str | None
    district: str | None
    enabled: bool
    created_at: datetime
    changed_at: datetime | None  # None: not changed since it was made (or since 0014)

    @classmethod
    def of(cls, user: User) -> Account:
        return cls(
            username=user.username,
            role=Role(user.role),
            school_id=user.school_id,
            station=user.station,
            district=user.district,
            enabled=not user.disabled,
            created_at=user.created_at,
            changed_at=user.changed_at,
        )

    @property
    def scope(self) -> str:
        """What the account sees, in a word or two: `school fy-dongguan-ms`, `all schools`."""
        if self.school_id is not None:
            return f"school {self.school_id}"
        if self.station is not None:
            return f"station {self.station}"
        if self.district is not None:
            return f"district {self.district}"
        return "no school" if self.role is Role.GUARD else "all schools"


@dataclass(frozen=True, slots=True)
class Changed:
    """What a command did to an account; `unchanged` when it already was so."""

    account: Account
    change: AccountChange
    sessions_ended: int = 0
    unchanged: bool = False


async def in_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a session on the site's database (migrated first) and commit; a
    database failure is a StorageError, NotFound and the like pass through."""
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session:
            session.info["actor"] = CLI_ACTOR
            result = await work(session)
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot change the accounts in the database: {exc}") from exc
    finally:
        await engine.dispose()
    return result


async def list_accounts(settings: Settings) -> list[Account]:
    """Every account, by username."""

    async def work(session: AsyncSession) -> list[Account]:
        return [Account.of(user) for user in await UserRepository(session).list()]

    return await in_session(settings, work)


async def set_enabled(settings: Settings, username: str, enabled: bool) -> Changed:
    """Disable an account (or enable it again); NotFound names an unknown one."""
    change = AccountChange.ENABLED if enabled else AccountChange.DISABLED

    async def work(session: AsyncSession) -> Changed:
        now = datetime.now(UTC)
        users = UserRepository(session)
        before = Account.of(await users.get_by_username(username))
        if before.enabled == enabled:
            return Changed(before, change, unchanged=True)
        account = Account.of(await users.set_disabled(username, not enabled, now=now))
        ended = await WebSessionRepository(session).end_all(username, now=now)
        await record_change(session, account, change, now=now)
        return Changed(account, change, sessions_ended=ended)

    return await in_session(settings, work)


async def remove_account(settings: Settings, username: str) -> Changed:
    """Delete an account; NotFound names an unknown one. The name may be used again by
    `user add`: that is a new account, which no token or session of this one signs in to."""

    async def work(session: AsyncSession) -> Changed:
        now = datetime.now(UTC)
        account = Account.of(await UserRepository(session).remove(username))
        ended = await WebSessionRepository(session).end_all(username, now=now)
        await record_change(session, account, AccountChange.REMOVED, now=now)
        return Changed(account, AccountChange.REMOVED, sessions_ended=ended)

    return await in_session(settings, work)


async def record_change(
    session: AsyncSession, account: Account, change: AccountChange, *, now: datetime
) -> None:
    """The change in `user_actions`: the account, and its role and scope after it."""
    await record_user_action(
        session,
        username=CLI_ACTOR,
        role=CLI_ROLE,
        action=change.action,
        subject=account.username,
        detail=f"{account.role} of {account.scope}",
        at=now,
    )


def describe_accounts(accounts: list[Account], zone: ZoneInfo) -> list[str]:
    """`user list`'s lines: a header, then one aligned line per account; times local."""
    if not accounts:
        return ["no accounts yet: make one with campus-gateway user add"]

    def when(moment: datetime | None) -> str:
        return "-" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    table = [
        ("username", "role", "scope", "enabled", f"created ({zone.key})", "last changed"),
        *(
            (
                a.username,
                str(a.role),
                a.scope,
                "yes" if a.enabled else "no",
                when(a.created_at),
                when(a.changed_at),
            )
            for a in accounts
        ),
    ]
    widths = [max(_width(row[i]) for row in table) for i in range(len(table[0]))]
    return [
        "  ".join(
            cell + " " * (w - _width(cell)) for cell, w in zip(row, widths, strict=True)
        ).rstrip()
        for row in table
    ]


def _width(text: str) -> int:
    """Columns `text` takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
