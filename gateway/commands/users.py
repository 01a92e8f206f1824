"""`campus-gateway user add`: create an account, or reset its password, role and scope (its
school, police station or district), which ends its tokens and web sessions."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.passwords import hash_password
from gateway.commands.accounts import Account, AccountChange, record_change
from gateway.domain import Role
from gateway.errors import GatewayError, StorageError
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.users import UserRepository
from gateway.storage.web_sessions import WebSessionRepository

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only stops pasted garbage


class InvalidAccount(GatewayError):
    """The account cannot be created as asked; `problems` holds one line per field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True, slots=True)
class AccountScope:
    """What an account sees: its school, its police station or its district (at most one);
    none of them is every school (an admin, or a city-level police or inspector account)."""

    school_id: str | None = None
    station: str | None = None
    district: str | None = None


def account_scope(
    settings: Settings,
    *,
    role: Role,
    username: str,
    password: str,
    school_id: str | None,
    station: str | None = None,
    district: str | None = None,
) -> AccountScope:
    """Check the account; return its scope (InvalidAccount lists every problem).

    A guard on a one-school site is tied to that school even when none is given, so that
    adding a second school later does not widen what the guard sees. A station is for a
    police account and a district for an inspector's, and either must be named by some
    configured school: a misspelt one would otherwise be an account that sees nothing.
    """
    problems: list[str] = []
    if not USERNAME.match(username):
        problems.append(f"username {username!r}: use 3 to 64 letters, digits, '_', '.' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    given = [
        flag
        for flag, value in (
            ("--school", school_id),
            ("--station", station),
            ("--district", district),
        )
        if value is not None
    ]
    if len(given) > 1:
        problems.append(
            f"give at most one of --school, --station, --district (got {', '.join(given)})"
        )
    known = [school.id for school in settings.schools]
    if school_id is not None and school_id not in known:
        problems.append(
            f"school {school_id!r} is not in the configuration (known: {', '.join(known)})"
        )
    problems += _named_by_a_school(
        "station", station, [s.police_station for s in settings.schools], "police_station"
    )
    problems += _named_by_a_school("district", district, [s.district for s in settings.schools])
    if role is Role.ADMIN and given:
        problems.append("an admin sees every school: leave out the school, station and district")
    if station is not None and role is not Role.POLICE:
        problems.append(f"--station is for police accounts (this one is {role})")
    if district is not None and role is not Role.INSPECTOR:
        problems.append(f"--district is for inspector accounts (this one is {role})")
    if role is Role.GUARD and school_id is None:
        if len(known) == 1:
            school_id = known[0]
        else:
            problems.append(f"a guard belongs to one school: give one of {', '.join(known)}")
    if problems:
        raise InvalidAccount(problems)
    return AccountScope(school_id=school_id, station=station, district=district)


def _named_by_a_school(
    what: str, value: str | None, named: list[str | None], key: str | None = None
) -> list[str]:
    """The problem when `value` is given but no configured school names it."""
    known = sorted({name for name in named if name is not None})
    if value is None or value in known:
        return []
    listed = ", ".join(known) if known else f"none: set schools[].{key or what}"
    return [f"{what} {value!r} is named by no configured school (known: {listed})"]


async def add_user(
    settings: Settings,
    *,
    role: Role,
    username: str,
    password: str,
    school_id: str | None,
    station: str | None = None,
    district: str | None = None,
) -> bool:
    """Store the account (migrating the database first); True when it was created."""
    scope = account_scope(
        settings,
        role=role,
        username=username,
        password=password,
        school_id=school_id,
        station=station,
        district=district,
    )
    password_hash = await asyncio.to_thread(hash_password, password)
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session:
            session.info["actor"] = "cli"
            created = await store_account(session, username, password_hash, role, scope)
            account = Account.of(await UserRepository(session).get_by_username(username))
            change = AccountChange.CREATED if created else AccountChange.RESET
            await record_change(session, account, change, now=datetime.now(UTC))
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot store the account in the database: {exc}") from exc
    finally:
        await engine.dispose()
    return created


async def store_account(
    session: AsyncSession, username: str, password_hash: str, role: Role, scope: AccountScope
) -> bool:
    """Create the account or reset it, with its whole scope: an account moved from a station
    to city level loses its station. True when it was created. Nothing is committed."""
    created = await UserRepository(session).add_or_update(
        username,
        password_hash,
        role,
        scope.school_id,
        station=scope.station,
        district=scope.district,
    )
    # A reset gives the account a new epoch, which ends its bearer tokens and web sessions
    # (whoever knew the old password must not stay signed in); the sessions are marked ended
    # too. A username removed and made again is signed out the same way.
    await WebSessionRepository(session).end_all(username, now=datetime.now(UTC))
    return created
