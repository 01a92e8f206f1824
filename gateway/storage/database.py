"""Engine and session factory. SQLite runs in WAL mode with full sync: an alarm acknowledged
to the broker is on disk."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from gateway.audit.journal import AuditedSession


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, schema: str | None = None) -> AsyncEngine:
    """`schema` (PostgreSQL only) sets the search path: tests get a schema each."""
    # Sessions always end their transaction themselves (commit, or rollback on close): the
    # pool's own reset would be one more round trip (a thread hop on SQLite) per transaction.
    kwargs: dict[str, Any] = {"echo": echo, "pool_reset_on_return": None}
    if is_sqlite(url):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        # No pre-ping (a round trip per checkout): a dropped connection fails the transaction,
        # which the callers retry.
        kwargs.update(pool_size=10, max_overflow=10, pool_timeout=10, pool_recycle=1800)
        settings = {"application_name": "campus-gateway"}
        if schema is not None:
            settings["search_path"] = schema
        kwargs["connect_args"] = {"server_settings": settings, "timeout": 10}
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        event.listen(engine.sync_engine, "connect", sqlite_pragmas)
    return engine


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose writes go into the tamper-evident log (gateway/audit/journal.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=AuditedSession)
