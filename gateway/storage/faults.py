"""Why a write failed: the database being away or busy (wait and try again: the record is
good), or the database refusing this content (trying again can never succeed, and waiting on
it would hold every message queued behind it).

Which it is decides between retrying forever and refusing one message, so the rule is kept
narrow: a failure is `CONTENT` only where the error says the data is at fault; what neither
list names is `UNKNOWN`, and the caller asks the database whether it answers before it
refuses anything."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import exc as sa

# SQLSTATE classes (PostgreSQL appendix A).
_PASSING_CLASSES = frozenset(
    {
        "08",  # connection exception
        "40",  # transaction rollback: serialization failure, deadlock
        "53",  # insufficient resources: disk full, out of memory, too many connections
        "55",  # object not in prerequisite state: lock not available
        "57",  # operator intervention: shutdown, query cancelled
        "58",  # system error: I/O
        "25",  # invalid transaction state: read-only transaction during a failover
    }
)
_CONTENT_CLASSES = frozenset({"22", "23"})  # data exception, integrity constraint violation


class WriteFailure(StrEnum):
    DATABASE = "database"  # away, busy, full or locked: the same write may succeed later
    CONTENT = "content"  # the data itself is refused: the same write never succeeds
    UNKNOWN = "unknown"


def classify_write_failure(error: BaseException) -> WriteFailure:
    if any(isinstance(cause, UnicodeError) for cause in _causes(error)):
        # Text the driver cannot encode (a lone surrogate): asyncpg reports it as a plain
        # DBAPIError "invalid input for query argument", the UnicodeError beneath.
        return WriteFailure.CONTENT
    if isinstance(error, sa.DBAPIError):
        if error.connection_invalidated:
            return WriteFailure.DATABASE
        sqlstate = _sqlstate(error.orig)
        if sqlstate is not None and sqlstate[:2] in _PASSING_CLASSES:
            return WriteFailure.DATABASE
        if sqlstate is not None and sqlstate[:2] in _CONTENT_CLASSES:
            return WriteFailure.CONTENT
        if isinstance(error, sa.OperationalError | sa.InterfaceError):
            # SQLite: locked, busy, disk I/O, disk full, cannot open; lost connections.
            return WriteFailure.DATABASE
        if isinstance(error, sa.IntegrityError | sa.DataError):
            return WriteFailure.CONTENT
        return WriteFailure.UNKNOWN
    if isinstance(error, sa.StatementError):
        # Raised while binding a value (before the database saw it): the value is at fault.
        if isinstance(error.orig, UnicodeError | ValueError | TypeError | OverflowError):
            return WriteFailure.CONTENT
        return WriteFailure.UNKNOWN
    if isinstance(error, sa.DisconnectionError | sa.TimeoutError | OSError | TimeoutError):
        return WriteFailure.DATABASE  # includes ConnectionError; the pool's wait for a slot
    return WriteFailure.UNKNOWN


def _causes(error: BaseException) -> list[BaseException]:
    """The error, the driver's error it wraps, and their causes (a few levels)."""
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(found) < 6 and current not in found:
        found.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return found


def _sqlstate(orig: BaseException | None) -> str | None:
    """The SQLSTATE of a driver error, where the driver gives one (asyncpg; psycopg)."""
    for cause in [] if orig is None else _causes(orig):
        for name in ("sqlstate", "pgcode"):
            code = getattr(cause, name, None)
            if isinstance(code, str) and len(code) == 5:
                return code
    return None
