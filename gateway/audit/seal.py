"""Sealing: linking the entries writers appended into the chain, in order.

Writers never wait for the chain: they append unsealed entries in their own transactions,
concurrently. One sealer at a time (a PostgreSQL advisory lock across gateway instances; the
single writer thread on SQLite; the unique `seq` as the last guard) gives each new entry the
next position and its hash. An entry is unsealed for about `interval_s` after its commit;
`verify` still checks the rows against it and counts it."""

from __future__ import annotations

import asyncio
import logging
from typing import cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.engine import Connection

from gateway.audit.digest import GENESIS, entry_hash
from gateway.reports.model import AuditHead
from gateway.storage.models import AuditEntry
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.audit")

ENTRIES = cast(Table, AuditEntry.__table__)
# Entries sealed per transaction: small jobs (about 1.5 ms of work each). On SQLite a job
# holds the one writer thread an alarm may be waiting for; on PostgreSQL it runs on the event
# loop (run_sync), where 1,000 entries at once stalled every press behind it (p99 49 ms).
SEAL_BATCH = 50
ADVISORY_LOCK = 0x43475F4155444954  # "CG_AUDIT": one sealer at a time across instances


def head_of(connection: Connection) -> AuditHead | None:
    c = ENTRIES.c
    row = connection.execute(
        select(c.seq, c.hash).where(c.seq.is_not(None)).order_by(c.seq.desc()).limit(1)
    ).first()
    if row is None or row.hash is None:
        return None
    return AuditHead(seq=row.seq, hash=row.hash)


def seal_pending(connection: Connection, *, limit: int = SEAL_BATCH) -> int:
    """Seal up to `limit` entries in the order they were appended; return how many."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    c = ENTRIES.c
    head = head_of(connection)
    seq, prev_hash = (0, GENESIS) if head is None else (head.seq, head.hash)
    pending = connection.execute(
        select(c.id, c.table_name, c.row_id, c.action, c.digest, c.actor, c.recorded_at)
        .where(c.seq.is_(None))
        .order_by(c.id)
        .limit(limit)
    ).all()
    links = []
    for entry in pending:
        seq += 1
        own = entry_hash(prev_hash, entry, seq=seq)
        links.append({"entry_id": entry.id, "seq": seq, "prev": prev_hash, "own": own})
        prev_hash = own
    if links:
        connection.execute(
            update(ENTRIES)
            .where(c.id == bindparam("entry_id"))
            .values(seq=bindparam("seq"), prev_hash=bindparam("prev"), hash=bindparam("own")),
            links,
        )
    return len(links)


def count_unsealed(connection: Connection) -> int:
    c = ENTRIES.c
    return int(
        connection.execute(
            select(func.count()).select_from(ENTRIES).where(c.seq.is_(None))
        ).scalar_one()
    )


class AuditSealer:
    """The runtime's sealing loop: every `interval_s`, seal what writers appended."""

    def __init__(self, writer: DatabaseWriter, *, interval_s: float = 1.0) -> None:
        self._writer = writer
        self._interval_s = interval_s
        self._failing = False

    async def seal_all(self) -> int:
        sealed = 0
        while True:
            batch = await self._writer.run(seal_pending)
            sealed += batch
            if batch < SEAL_BATCH:
                return sealed

    async def run(self) -> None:
        try:
            while True:
                await self._seal_logging_faults()
                await asyncio.sleep(self._interval_s)
        finally:
            # On the way out, leave nothing unsealed that can be sealed now.
            await asyncio.shield(self._seal_logging_faults())

    async def _seal_logging_faults(self) -> None:
        try:
            await self.seal_all()
        except Exception as exc:  # the database is away or busy: try again next round
            if not self._failing:
                log.warning("cannot seal the audit log (will retry): %s", exc)
            self._failing = True
            return
        if self._failing:
            log.info("sealing the audit log again")
            self._failing = False
