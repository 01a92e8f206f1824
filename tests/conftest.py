"""Shared fixtures: a private Mosquitto per test, and a database per test on SQLite and
PostgreSQL (see tests/support/services.py for the skip/fail policy)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from gateway.storage.database import create_engine
from gateway.storage.migrate import upgrade_database
from tests.support.services import POSTGRES_URL, MosquittoBroker, missing


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MosquittoBroker]:
    broker = MosquittoBroker(directory=tmp_path / "mosquitto")
    broker.directory.mkdir()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def _postgres_schema() -> str:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (OSError, ConnectionError) as exc:
        missing(
            "PostgreSQL at 127.0.0.1:5432 (database test)", f"apt-get install postgresql ({exc})"
        )
    finally:
        await admin.dispose()
    return schema


async def _drop_schema(schema: str) -> None:
    admin = create_async_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, str | None]]:
    """(database_url, schema): a fresh, empty database on each backend, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'campus.db'}", None
        return
    schema = await _postgres_schema()
    try:
        yield POSTGRES_URL, schema
    finally:
        await _drop_schema(schema)


@pytest.fixture
async def postgres_database() -> AsyncIterator[tuple[str, str | None]]:
    """(database_url, schema) on PostgreSQL only, for tests that need its locks."""
    schema = await _postgres_schema()
    try:
        yield POSTGRES_URL, schema
    finally:
        await _drop_schema(schema)


@pytest.fixture
async def engine(database: tuple[str, str | None]) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on each backend."""
    url, schema = database
    eng = create_engine(url, schema=schema)
    await upgrade_database(eng)
    try:
        yield eng
    finally:
        await eng.dispose()
