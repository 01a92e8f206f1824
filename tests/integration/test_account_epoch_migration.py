"""Migration 0014 gives accounts an epoch (`users.token_epoch`): an account from before keeps
verifying in the audit log and keeps its token until its first change, which ends it; going
back to 0013 records the changed accounts again, so the log still verifies (both
databases)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.auth.passwords import hash_password
from gateway.auth.tokens import issue_token
from gateway.commands.users import AccountScope, store_account
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.database import create_engine
from gateway.storage.migrate import alembic_config, upgrade_database
from gateway.storage.users import UserRepository
from gateway.storage.web_sessions import WebSessionRepository
from tests.support.audit import assert_log_intact
from tests.support.context import api_client, gateway_context
from tests.support.site import site_tree


def settings_for(database: tuple[str, str | None]) -> Settings:
    url, schema = database
    return parse_settings(
        site_tree(
            mqtt_url="mqtt://127.0.0.1:1",
            database_url=url,
            database_schema=schema,
            police_urls={"110": "http://127.0.0.1:9/alarm"},
        )
    )


def token(context: GatewayContext, username: str, epoch: str | None) -> dict[str, str]:
    issued = issue_token(
        context.token_secret,
        username=username,
        role=Role.POLICE,
        school_id=None,
        ttl_s=600,
        now=datetime.now(UTC),
        epoch=epoch,
    )
    return {"Authorization": f"Bearer {issued}"}


async def status_of(http: httpx.AsyncClient, headers: dict[str, str]) -> int:
    return (await http.get("/api/v1/auth/me", headers=headers)).status_code


async def downgrade_database(engine: AsyncEngine, revision: str) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_an_account_from_before_keeps_its_token_until_it_changes(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        # An account from before the log (0008), recorded by 0009 as the log's baseline.
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
        async with (
            gateway_context(settings_for(database), engine) as context,
            api_client(context) as http,
        ):
            async with context.sessions() as session:
                old = await UserRepository(session).get_by_username("old-police")
                assert (old.token_epoch, old.changed_at) == (None, None)
            # A token issued before 0014 has no epoch: it still works, one with some epoch
            # does not.
            before = token(context, "old-police", None)
            assert await status_of(http, before) == 200
            assert await status_of(http, token(context, "old-police", "made-up")) == 401
            async with context.sessions() as session:
                session.info["actor"] = "cli"
                # The password reset as it was, same role, same (city-level) scope.
                await store_account(session, "old-police", stored, Role.POLICE, AccountScope())
                await session.commit()
            assert await status_of(http, before) == 401
        # gateway_context checked the log on the way out: the old row verified throughout.
    finally:
        await engine.dispose()


async def test_going_back_to_0013_keeps_the_log_verifying(
    database: tuple[str, str | None],
) -> None:
    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        await upgrade_database(engine)
        stored = hash_password("password-1")
        now = datetime.now(UTC)
        async with (
            gateway_context(settings_for(database), engine) as context,
            api_client(context) as http,
        ):
            async with context.sessions() as session:
                session.info["actor"] = "cli"
                for name in ("made", "reset", "disabled"):
                    await store_account(session, name, stored, Role.POLICE, AccountScope())
                await store_account(session, "reset", stored, Role.POLICE, AccountScope())
                users = UserRepository(session)
                await users.set_disabled("disabled", True, now=now)
                epoch = (await users.get_by_username("made")).token_epoch
                await WebSessionRepository(session).start(
                    "0" * 64, "made", account_epoch=epoch, now=now, ttl_s=600
                )
                await session.commit()
            issued = token(context, "made", epoch)
            assert await status_of(http, issued) == 200

            await downgrade_database(engine, "0013")
            async with engine.connect() as connection:
                columns = await connection.run_sync(
                    lambda sync: {
                        table: {c["name"] for c in inspect(sync).get_columns(table)}
                        for table in ("users", "web_sessions")
                    }
                )
            assert not {"token_epoch", "changed_at"} & columns["users"]
            assert "account_epoch" not in columns["web_sessions"]

            await upgrade_database(engine)  # to verify with today's code
            await assert_log_intact(engine)
            # Back at 0014 the accounts have no epoch: a token that carried one is over.
            assert await status_of(http, issued) == 401
    finally:
        await engine.dispose()
