"""The log seen from the outside: its head, and a verification run on a consistent snapshot
(PostgreSQL REPEATABLE READ; on SQLite one read transaction)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from gateway.audit.seal import head_of
from gateway.audit.verify import Verification, verify_log
from gateway.errors import GatewayError
from gateway.reports.model import AuditHead


async def audit_head(session: AsyncSession) -> AuditHead | None:
    """The last sealed entry (None while the log is empty or nothing is sealed yet)."""
    return await session.run_sync(lambda sync: head_of(sync.connection()))


async def verify_database(
    engine: AsyncEngine, *, now: datetime | None = None, anchors: Sequence[AuditHead] = ()
) -> Verification:
    checked_at = now or datetime.now(UTC)
    async with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                return await connection.run_sync(verify_log, now=checked_at, anchors=anchors)
        # pysqlite starts no transaction for reads: begin one, so that every read sees the
        # same state while the gateway goes on writing.
        await connection.exec_driver_sql("BEGIN")
        try:
            return await connection.run_sync(verify_log, now=checked_at, anchors=anchors)
        finally:
            await connection.rollback()


def parse_anchor(text: str) -> AuditHead:
    """`SEQ:HASH` as printed on a report (the hash may be shortened to its first 16 hex)."""
    seq, _, digest = text.strip().partition(":")
    if not seq.isdigit() or int(seq) < 1 or not (16 <= len(digest) <= 64):
        raise InvalidAnchor(f"{text!r} is not SEQ:HASH (e.g. 1234:9f86d081884c7d65…)")
    try:
        int(digest, 16)
    except ValueError as exc:
        raise InvalidAnchor(f"{text!r}: the hash is not hexadecimal") from exc
    return AuditHead(seq=int(seq), hash=digest.lower())


class InvalidAnchor(GatewayError):
    """An anchor that is not SEQ:HASH."""
