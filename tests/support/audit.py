"""Every test that writes through the gateway leaves an intact audit log: a write path that
forgets to journal (or a test that writes behind the gateway's back) fails here."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.audit.chain import verify_database
from gateway.audit.seal import seal_pending
from gateway.storage.database import create_engine
from gateway.storage.writer import DatabaseWriter


async def assert_log_intact(engine: AsyncEngine) -> None:
    """Seal what is pending, then verify: no problem at all."""
    writer = DatabaseWriter(engine)
    try:
        while await writer.run(seal_pending):
            pass
    finally:
        await writer.aclose()
    result = await verify_database(engine)
    assert result.ok, "audit log broken:\n" + "\n".join(p.message for p in result.problems)
    assert result.unsealed == 0


async def assert_site_log_intact(database_url: str, schema: str | None) -> None:
    engine = create_engine(database_url, schema=schema)
    try:
        await assert_log_intact(engine)
    finally:
        await engine.dispose()
