"""Which write failures are the database's (wait and retry) and which the content's (refuse
the one message): a wrong answer either holds every alarm behind one message or drops a
good alarm while the database is away."""

from __future__ import annotations

import sqlite3

import asyncpg
import pytest
from sqlalchemy import exc as sa

from gateway.storage.faults import WriteFailure, classify_write_failure


def wrapped(kind: type[sa.DBAPIError], orig: BaseException, **options: bool) -> sa.DBAPIError:
    return kind("INSERT INTO events ...", {}, orig, **options)  # type: ignore[arg-type]


def with_sqlstate(sqlstate: str) -> Exception:
    error = Exception("from the server")
    error.sqlstate = sqlstate  # type: ignore[attr-defined]
    return error


def encoding_error() -> Exception:
    try:
        "\ud800".encode()
    except UnicodeEncodeError as inner:
        outer = asyncpg.DataError("invalid input for query argument $4")
        outer.__cause__ = inner
        return outer
    raise AssertionError("a lone surrogate encoded")


@pytest.mark.parametrize(
    ("error", "failure"),
    [
        # SQLite: the database's own state.
        (wrapped(sa.OperationalError, sqlite3.OperationalError("database is locked")), "database"),
        (wrapped(sa.OperationalError, sqlite3.OperationalError("disk I/O error")), "database"),
        (
            wrapped(sa.OperationalError, sqlite3.OperationalError("database or disk is full")),
            "database",
        ),
        (
            wrapped(sa.OperationalError, sqlite3.OperationalError("no such table: events")),
            "database",
        ),
        # PostgreSQL by SQLSTATE class, whatever the wrapper's class.
        (wrapped(sa.DBAPIError, with_sqlstate("40001")), "database"),  # serialization
        (wrapped(sa.DBAPIError, with_sqlstate("40P01")), "database"),  # deadlock
        (wrapped(sa.DBAPIError, with_sqlstate("53100")), "database"),  # disk full
        (wrapped(sa.DBAPIError, with_sqlstate("57P01")), "database"),  # admin shutdown
        (wrapped(sa.DBAPIError, with_sqlstate("08006")), "database"),  # connection failure
        (wrapped(sa.DBAPIError, with_sqlstate("25006")), "database"),  # read-only (failover)
        (wrapped(sa.DBAPIError, with_sqlstate("22021")), "content"),  # NUL in text
        (wrapped(sa.DBAPIError, with_sqlstate("22001")), "content"),  # value too long
        (wrapped(sa.DBAPIError, with_sqlstate("23505")), "content"),  # unique violation
        (wrapped(sa.IntegrityError, with_sqlstate("40001")), "database"),  # the code decides
        # A lost connection, however it is labelled.
        (wrapped(sa.DBAPIError, Exception("?"), connection_invalidated=True), "database"),
        (wrapped(sa.InterfaceError, Exception("connection is closed")), "database"),
        (ConnectionRefusedError(111, "refused"), "database"),
        (TimeoutError(), "database"),
        (sa.TimeoutError("QueuePool limit reached"), "database"),
        # The content.
        (wrapped(sa.DBAPIError, encoding_error()), "content"),  # asyncpg, lone surrogate
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), "content"),
        (wrapped(sa.IntegrityError, sqlite3.IntegrityError("NOT NULL constraint")), "content"),
        (wrapped(sa.DataError, Exception("bad value")), "content"),
        (sa.StatementError("bind", "INSERT", {}, ValueError("naive datetime")), "content"),
        # Neither: the caller asks the database before refusing anything.
        (wrapped(sa.DBAPIError, Exception("something else")), "unknown"),
        (wrapped(sa.ProgrammingError, Exception("syntax")), "unknown"),
        (RuntimeError("a bug"), "unknown"),
        (sa.StatementError("bind", "INSERT", {}, RuntimeError("?")), "unknown"),
    ],
)
def test_write_failures_are_told_apart(error: BaseException, failure: str) -> None:
    assert classify_write_failure(error) is WriteFailure(failure)
