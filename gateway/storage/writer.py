"""The runtime's writes: each is a plain function of a SQLAlchemy `Connection`, run in one
transaction.

On SQLite the function runs whole on one writer thread with a synchronous connection: one
thread hop per transaction instead of several per statement (aiosqlite hands every cursor,
execute, fetch and close to its thread, ~0.2 ms each), and SQLite takes one writer at a time
anyway. On PostgreSQL it runs over the async engine (`run_sync`), writers concurrently."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool

from gateway.audit.journal import journal_batch
from gateway.storage.database import is_sqlite, sqlite_pragmas

T = TypeVar("T")


class DatabaseWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        if is_sqlite(engine.url.drivername):
            url = engine.url.set(drivername="sqlite")
            self._sync = create_engine(
                url,
                poolclass=StaticPool,  # one connection, used by the one writer thread only
                connect_args={"check_same_thread": False, "timeout": 30},
            )
            event.listen(self._sync, "connect", sqlite_pragmas)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        # Non-urgent work enters the thread's queue one job at a time, so that an urgent job
        # (an alarm) waits for one job at most, never for a queue of telemetry batches, audit
        # sealing and delivery records.
        self._routine = asyncio.Lock()

    async def run(self, work: Callable[[Connection], T], *, urgent: bool = False) -> T:
        """Run `work` in a transaction, committed when it returns, rolled back if it raises.
        `urgent`: a press on its way to the police, ahead of the queue (SQLite)."""
        if self._sync is not None and self._thread is not None:
            loop = asyncio.get_running_loop()
            if urgent:
                return await loop.run_in_executor(self._thread, self._transaction, work)
            async with self._routine:
                return await loop.run_in_executor(self._thread, self._transaction, work)
        async with self._engine.begin() as connection:
            return await connection.run_sync(_journalled, work)

    def _transaction(self, work: Callable[[Connection], T]) -> T:
        assert self._sync is not None
        with self._sync.begin() as connection:
            return _journalled(connection, work)

    async def aclose(self) -> None:
        if self._thread is not None:
            await asyncio.to_thread(self._thread.shutdown, wait=True)
        if self._sync is not None:
            self._sync.dispose()


def _journalled(connection: Connection, work: Callable[[Connection], T]) -> T:
    """`work`, its audit entries written together at its end, in its transaction."""
    with journal_batch(connection):
        return work(connection)
