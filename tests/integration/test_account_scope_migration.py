"""Migration 0011 adds the accounts' police station and district: the accounts written
before keep verifying in the audit log (a NULL column is left out of a row's digest), and a
scope set behind the gateway's back is found (both databases)."""

from __future__ import annotations

from sqlalchemy import text

from gateway.audit.chain import verify_database
from gateway.auth.passwords import hash_password
from gateway.commands.users import AccountScope, store_account
from gateway.domain import Role
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database
from gateway.storage.users import UserRepository
from tests.support.audit import assert_log_intact


async def test_accounts_from_before_the_scopes_keep_verifying(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        # An account from before the log (0008): 0009 records it as the log's baseline,
        # digested without the columns 0011 adds, which must not change its digest.
        await upgrade_database(engine, "0008")
        stored = hash_password("old-password-1")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO users (username, password_hash, role, disabled, created_at) "
                    "VALUES ('old-police', :hash, 'police', false, CURRENT_TIMESTAMP)"
                ),
                {"hash": stored},
            )
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session:
            session.info["actor"] = "cli"
            await store_account(
                session, "new-police", stored, Role.POLICE, AccountScope(station="城关派出所")
            )
            old = await UserRepository(session).get_by_username("old-police")
            assert (old.station, old.district) == (None, None)
            await session.commit()
        await assert_log_intact(engine)
        async with engine.begin() as connection:  # widened behind the gateway's back
            await connection.execute(
                text("UPDATE users SET station = NULL WHERE username = 'new-police'")
            )
        result = await verify_database(engine)
        assert result.first_broken is not None
        assert (result.first_broken.table, result.first_broken.kind) == ("users", "row_altered")
    finally:
        await engine.dispose()
