"""Everything a running gateway shares, made once at start-up and passed in (never global)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway.bus import EventBus
from gateway.errors import StorageError
from gateway.health import HealthBoard
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.writer import DatabaseWriter

log = logging.getLogger("gateway.context")


@dataclass(slots=True)
class GatewayContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    metrics: GatewayMetrics
    health: HealthBoard
    bus: EventBus
    token_secret: str
    writer: DatabaseWriter


async def open_context(settings: Settings) -> GatewayContext:
    """Connect and migrate the database; make the metrics, health board and bus."""
    _check_sqlite_folder(settings.gateway.database_url)
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
    except Exception as exc:  # whatever the driver raised: say which database and why
        await engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise StorageError(
            f"cannot open the database {engine.url.render_as_string(hide_password=True)} "
            f"(gateway.database_url): {reason}"
        ) from exc
    except BaseException:
        await engine.dispose()
        raise
    secret = settings.gateway.secret_key
    if secret is None:
        log.warning("gateway.secret_key is not set: API tokens will not survive a restart")
        secret = secrets.token_urlsafe(32)
    return GatewayContext(
        settings=settings,
        engine=engine,
        sessions=create_sessionmaker(engine),
        metrics=GatewayMetrics(),
        health=HealthBoard(),
        bus=EventBus(),
        token_secret=secret,
        writer=DatabaseWriter(engine),
    )


async def close_context(context: GatewayContext) -> None:
    await context.writer.aclose()
    await context.engine.dispose()


def _check_sqlite_folder(url: str) -> None:
    """SQLite creates the file but not its folder: say so plainly, before connecting."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return
    folder = Path(parsed.database).parent
    if not folder.is_dir():
        raise StorageError(
            f"cannot open the database {url} (gateway.database_url): "
            f"the folder {folder} does not exist"
        )
