"""`campus-gateway user add`: create an account, or reset its password, role and school."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy.exc import SQLAlchemyError

from gateway.auth.passwords import hash_password
from gateway.domain import Role
from gateway.errors import GatewayError, StorageError
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.users import UserRepository

USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024  # argon2 takes any length; this only stops pasted garbage


class InvalidAccount(GatewayError):
    """The account cannot be created as asked; `problems` holds one line per field."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def account_school(
    settings: Settings, *, role: Role, username: str, password: str, school_id: str | None
) -> str | None:
    """Check the account; return the school it belongs to (InvalidAccount lists every problem).

    A guard on a one-school site is tied to that school even when none is given, so that
    adding a second school later does not widen what the guard sees.
    """
    problems: list[str] = []
    if not USERNAME.match(username):
        problems.append(f"username {username!r}: use 3 to 64 letters, digits, '_', '.' or '-'")
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    elif len(password) > MAX_PASSWORD_LENGTH:
        problems.append(f"password: at most {MAX_PASSWORD_LENGTH} characters")
    known = [school.id for school in settings.schools]
    if school_id is not None and school_id not in known:
        problems.append(
            f"school {school_id!r} is not in the configuration (known: {', '.join(known)})"
        )
    if role is Role.ADMIN and school_id is not None:
        problems.append("an admin sees every school: leave out the school")
    if role is Role.GUARD and school_id is None:
        if len(known) == 1:
            school_id = known[0]
        else:
            problems.append(f"a guard belongs to one school: give one of {', '.join(known)}")
    if problems:
        raise InvalidAccount(problems)
    return school_id


async def add_user(
    settings: Settings, *, role: Role, username: str, password: str, school_id: str | None
) -> bool:
    """Store the account (migrating the database first); True when it was created."""
    school = account_school(
        settings, role=role, username=username, password=password, school_id=school_id
    )
    password_hash = await asyncio.to_thread(hash_password, password)
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session:
            session.info["actor"] = "cli"
            created = await UserRepository(session).add_or_update(
                username, password_hash, role, school
            )
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot store the account in the database: {exc}") from exc
    finally:
        await engine.dispose()
    return created
