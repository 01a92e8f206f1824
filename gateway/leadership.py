"""Scale-out: one leader among the gateway instances, for the jobs that must run once
(escalation, the watches, Modbus polling, publishing alerts; see `GatewayRuntime`).

The leader holds a PostgreSQL session-level advisory lock on a connection of its own. The
lock lives exactly as long as that session: a leader that dies, or whose connection breaks,
loses it, and another instance (trying every `leader_retry_s`) gets it. The leader checks its
connection at the same interval and stops its jobs when the check fails, so for up to about
that long after a network split two instances may both lead; each job tolerates that (the
escalation and the sealer lock in the database, a watch may repeat an alert)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics

log = logging.getLogger("gateway.leadership")
Lead = Callable[[], Coroutine[Any, Any, None]]
LEADER_LOCK_SPACE = 0x43474C44  # "CGLD": advisory lock space of the leader
COMPONENT = "leadership"
# Per schema: several gateways' schemas may share one database (the tests do).
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:space, hashtext(coalesce(current_schema(), '')))")


class LeadershipLost(Exception):
    """The leader's connection failed its check: the lock may be gone."""


class LeaderElection:
    def __init__(
        self,
        engine: AsyncEngine,
        *,
        instance_id: str,
        retry_s: float,
        health: HealthBoard,
        metrics: GatewayMetrics | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self._engine = engine
        self._metrics = metrics
        self._instance_id = instance_id
        self._retry_s = retry_s
        self._timeout_s = timeout_s
        self._health = health
        self.is_leader = False
        health.expect(COMPONENT)

    async def run(self, lead: Lead) -> None:
        """Forever: become the leader when possible and run `lead()` while leading; it is
        cancelled when leadership is lost, and started again when it is won back."""
        while True:
            detail = ""
            try:
                await self._campaign(lead)
            except* (LeadershipLost, OSError, TimeoutError) as group:
                detail = _describe(group)
            except* Exception as group:  # the driver's own errors (asyncpg, SQLAlchemy)
                if not _from_database(group):
                    raise
                detail = _describe(group)
            self._health.report(COMPONENT, up=False, detail=detail)  # logged once per fault
            await asyncio.sleep(self._retry_s)

    async def _campaign(self, lead: Lead) -> None:
        connection = await asyncio.wait_for(self._engine.connect(), self._timeout_s)
        try:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            while True:
                if await self._try_lock(connection):
                    await self._lead(connection, lead)
                self._health.report(COMPONENT, up=True, detail="standby: another instance leads")
                await asyncio.sleep(self._retry_s)
        finally:
            # Ending the session is what releases the lock (at shutdown too): at once, so the
            # next leader does not wait for a timeout.
            with contextlib.suppress(Exception):
                await connection.invalidate()
            with contextlib.suppress(Exception):
                await connection.close()

    async def _try_lock(self, connection: AsyncConnection) -> bool:
        async with asyncio.timeout(self._timeout_s):
            result = await connection.execute(_TRY_LOCK, {"space": LEADER_LOCK_SPACE})
        return bool(result.scalar_one())

    async def _lead(self, connection: AsyncConnection, lead: Lead) -> None:
        since = datetime.now(UTC)
        self.is_leader = True
        if self._metrics is not None:
            self._metrics.leader.set(1)
        log.warning("leadership gained: %s runs the single-instance jobs", self._instance_id)
        self._health.report(COMPONENT, up=True, detail=f"leader since {since.isoformat()}")
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(lead(), name="leader-jobs")
                group.create_task(self._hold(connection), name="leader-hold")
        finally:
            self.is_leader = False
            if self._metrics is not None:
                self._metrics.leader.set(0)
            log.warning("leadership lost: %s stopped the single-instance jobs", self._instance_id)

    async def _hold(self, connection: AsyncConnection) -> None:
        """Check the leader's session every `retry_s`; raise LeadershipLost when it fails."""
        while True:
            await asyncio.sleep(self._retry_s)
            try:
                async with asyncio.timeout(self._timeout_s):
                    await connection.execute(text("SELECT 1"))
            except Exception as exc:  # the connection, whatever the driver raised
                raise LeadershipLost(f"{type(exc).__name__}: {exc}") from exc


def _describe(group: BaseExceptionGroup[BaseException]) -> str:
    first = group.exceptions[0]
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return f"cannot hold the election connection: {type(first).__name__}: {first}"[:300]


def _from_database(group: BaseExceptionGroup[BaseException]) -> bool:
    """Are all of these the database driver's (connection) errors?"""
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            if not _from_database(exc):
                return False
            continue
        module = type(exc).__module__
        if not module.startswith(("sqlalchemy", "asyncpg")):
            return False
    return True
