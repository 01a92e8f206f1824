"""Leader election between gateway instances (gateway/leadership.py) on a real PostgreSQL: one
of two wins; when the winner's connection is cut, the other takes over and the first stops
its jobs; a stopped leader hands over at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.health import HealthBoard
from gateway.leadership import COMPONENT, LEADER_LOCK_SPACE, LeaderElection
from gateway.storage.database import create_engine
from tests.support.police import eventually
from tests.support.services import POSTGRES_URL

RETRY_S = 0.3


@dataclass
class Candidate:
    name: str
    schema: str
    engine: AsyncEngine
    election: LeaderElection
    health: HealthBoard
    leading: list[bool] = field(default_factory=list)  # True while its jobs run
    task: asyncio.Task[None] | None = None

    async def jobs(self) -> None:
        self.leading.append(True)
        try:
            await asyncio.Event().wait()
        finally:
            self.leading.append(False)

    @property
    def running_jobs(self) -> bool:
        return bool(self.leading) and self.leading[-1]

    def start(self) -> None:
        self.task = asyncio.create_task(self.election.run(self.jobs), name=f"elect-{self.name}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


@pytest.fixture
async def candidates(
    postgres_database: tuple[str, str | None],
) -> AsyncIterator[tuple[Candidate, Candidate]]:
    url, schema = postgres_database
    assert schema is not None
    made = []
    for name in ("gw-a", "gw-b"):
        engine = create_engine(url, schema=schema)
        health = HealthBoard()
        election = LeaderElection(engine, instance_id=name, retry_s=RETRY_S, health=health)
        made.append(Candidate(name, schema, engine, election, health))
    try:
        yield made[0], made[1]
    finally:
        for candidate in made:
            await candidate.stop()
            await candidate.engine.dispose()


def leaders(*candidates: Candidate) -> list[str]:
    return [c.name for c in candidates if c.election.is_leader]


async def test_one_of_two_leads_and_a_cut_connection_hands_over(
    candidates: tuple[Candidate, Candidate], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gateway.leadership")
    a, b = candidates
    a.start()
    await eventually(lambda: a.running_jobs, timeout_s=10, what="A to lead")
    b.start()
    await asyncio.sleep(RETRY_S * 4)
    assert leaders(a, b) == ["gw-a"] and not b.leading
    assert b.health.snapshot()[COMPONENT].detail.startswith("standby")
    assert a.health.snapshot()[COMPONENT].detail.startswith("leader since")

    # Cut A's election connection from the server side, as a network fault or a
    # PostgreSQL restart would: its lock goes with its session.
    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            cut = await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
                    "AND classid = CAST(:space AS oid) AND objid = hashtext(:schema)::oid"
                ),
                {"space": LEADER_LOCK_SPACE, "schema": a.schema},
            )
            assert cut.scalars().all() == [True]
    finally:
        await admin.dispose()
    await eventually(lambda: b.running_jobs, timeout_s=10, what="B to take over")
    await eventually(lambda: not a.running_jobs, timeout_s=10, what="A to stop its jobs")
    assert leaders(a, b) == ["gw-b"]
    # A tries again and stays standby while B leads.
    await asyncio.sleep(RETRY_S * 4)
    assert leaders(a, b) == ["gw-b"] and a.leading.count(True) == 1

    gained = [r.getMessage() for r in caplog.records if "leadership gained" in r.getMessage()]
    lost = [r.getMessage() for r in caplog.records if "leadership lost" in r.getMessage()]
    assert gained == [
        "leadership gained: gw-a runs the single-instance jobs",
        "leadership gained: gw-b runs the single-instance jobs",
    ]
    assert lost == ["leadership lost: gw-a stopped the single-instance jobs"]


async def test_a_leader_that_stops_hands_over_at_once(
    candidates: tuple[Candidate, Candidate],
) -> None:
    a, b = candidates
    a.start()
    await eventually(lambda: a.running_jobs, timeout_s=10, what="A to lead")
    b.start()
    await asyncio.sleep(RETRY_S * 2)
    await a.stop()  # a clean shutdown ends the session: the lock is free now, not later
    assert not a.running_jobs
    await eventually(lambda: b.running_jobs, timeout_s=RETRY_S * 5, what="B to take over")
