"""The tamper-evident log against real services (a private Mosquitto, both databases, the
simulated police centre): presses, deliveries and people's actions are recorded as they
happen; an UPDATE, DELETE or INSERT made directly in the database, or an edit of the log
itself, is found at that row by the API and by `campus-gateway audit verify`."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import yaml
from sqlalchemy import Table, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from drivers.mqtt.publisher import MqttPublisher
from gateway.audit.chain import parse_anchor, verify_database
from gateway.audit.digest import row_digest
from gateway.audit.seal import seal_pending
from gateway.audit.verify import BreakKind, Verification
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage import models
from gateway.storage.database import create_engine
from gateway.storage.writer import DatabaseWriter
from simulators.button import press_button
from tests.integration.test_alarm_tests import headers_for
from tests.support.context import api_client, bearer, gateway_context
from tests.support.gateway import running
from tests.support.police import eventually, police_centre
from tests.support.services import MosquittoBroker
from tests.support.site import site_tree

pytestmark = pytest.mark.mosquitto
SCHOOL = "fy-dongguan-ms"
NOTICES = cast(
    Table, models.TestNotice.__table__
)  # (not imported by name: pytest would collect it)
DELIVERIES = cast(Table, models.PoliceDelivery.__table__)


def settings_for(
    broker: MosquittoBroker, database: tuple[str, str | None], police: str
) -> tuple[Settings, dict[str, Any]]:
    url, schema = database
    tree = site_tree(
        mqtt_url=broker.url, database_url=url, database_schema=schema, police_urls={"110": police}
    )
    tree["linkage"] = {"snapshot_wait_s": 0}
    return parse_settings(tree), tree


async def cli_verify(tree: dict[str, Any], folder: Path, *options: str) -> tuple[int, str]:
    """`campus-gateway audit verify` as a user runs it: exit code and standard output."""
    config = folder / "site.yaml"
    config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway",
        "audit",
        "verify",
        *options,
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


async def one_value(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as connection:
        return (await connection.execute(text(sql), params)).scalar_one()


async def execute(engine: AsyncEngine, sql: str, **params: Any) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(sql), params)


def only_break(result: Verification) -> tuple[BreakKind, str, int | None]:
    assert not result.ok
    assert result.problem_count == 1, [p.message for p in result.problems]
    first = result.first_broken
    assert first is not None
    return first.kind, first.table, first.row_id


async def test_edits_behind_the_gateways_back_are_found_at_their_row(
    mosquitto: MosquittoBroker, database: tuple[str, str | None], tmp_path: Path
) -> None:
    async with police_centre() as centre:
        settings, tree = settings_for(mosquitto, database, centre.url)
        async with running(settings) as app, MqttPublisher(mosquitto.url, client_id="btn") as pub:
            for button in ("btn-north", "btn-office", "btn-north"):
                await press_button(pub, prefix="campus", school=SCHOOL, button=button)
            await eventually(lambda: len(centre.centre.receipts) == 3, what="three alarms at 110")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                inspector = await headers_for(app, http, "inspector", Role.INSPECTOR)
                guard = await headers_for(app, http, "guard", Role.GUARD)
                notice = await http.post(
                    "/api/v1/alarm-tests/notices",
                    json={
                        "school": SCHOOL,
                        "button": "btn-office",
                        "window_minutes": 10,
                        "police_officer": "张警官",
                        "bureau_staff": "李老师",
                    },
                    headers=inspector,
                )
                assert notice.status_code == 201, notice.text
                refused = await http.get("/api/v1/audit/verify", headers=guard)
                assert refused.status_code == 403

                async def sealed_and_intact() -> bool:
                    answer = await http.get("/api/v1/audit/verify", headers=inspector)
                    assert answer.status_code == 200, answer.text
                    body = answer.json()
                    assert body["ok"] is True, body["problems"]
                    return body["unsealed"] == 0 and body["head"] is not None

                await eventually(sealed_and_intact, what="the log sealed and intact")

    url, schema = database
    engine = create_engine(url, schema=schema)
    try:
        intact = await verify_database(engine)
        assert intact.ok and intact.unsealed == 0
        assert intact.head is not None and intact.head.seq == intact.entries
        # Recorded: the events, alarms and deliveries (each acknowledgement an update), the
        # notice and its author, the accounts and the two verifications asked for.
        actors = await one_value(
            engine,
            "SELECT count(*) FROM audit_entries WHERE table_name = 'test_notices' "
            "AND actor = 'inspector'",
        )
        assert actors == 1
        verifications = await one_value(
            engine, "SELECT count(*) FROM user_actions WHERE action = 'audit.verify'"
        )
        assert verifications >= 1
        code, output = await cli_verify(tree, tmp_path)
        assert code == 0, output
        assert "intact" in output

        # UPDATE: the second alarm's location.
        alarm_id = await one_value(engine, "SELECT id FROM alarms ORDER BY id LIMIT 1 OFFSET 1")
        place = await one_value(engine, "SELECT location FROM alarms WHERE id = :i", i=alarm_id)
        await execute(engine, "UPDATE alarms SET location = '操场' WHERE id = :i", i=alarm_id)
        assert only_break(await verify_database(engine)) == (
            BreakKind.ROW_ALTERED,
            "alarms",
            alarm_id,
        )
        code, output = await cli_verify(tree, tmp_path)
        assert code == 3, output
        assert f"first broken link: alarms row {alarm_id} was changed" in output
        # Put back exactly as it was, it verifies again: the log judges content, not access.
        await execute(engine, "UPDATE alarms SET location = :p WHERE id = :i", p=place, i=alarm_id)
        assert (await verify_database(engine)).ok

        # DELETE: a police delivery (its receipt).
        delivery_id = await one_value(engine, "SELECT max(id) FROM police_deliveries")
        async with engine.connect() as connection:
            receipt = (
                await connection.execute(select(DELIVERIES).where(DELIVERIES.c.id == delivery_id))
            ).one()
        await execute(engine, "DELETE FROM police_deliveries WHERE id = :i", i=delivery_id)
        assert only_break(await verify_database(engine)) == (
            BreakKind.ROW_DELETED,
            "police_deliveries",
            delivery_id,
        )

        # INSERT: a forged account.
        await execute(
            engine,
            "INSERT INTO users (username, password_hash, role, disabled, created_at) "
            "VALUES ('intruder', 'x', 'admin', false, CURRENT_TIMESTAMP)",
        )
        intruder = await one_value(engine, "SELECT id FROM users WHERE username = 'intruder'")
        broken = await verify_database(engine)
        assert broken.problem_count == 2
        found = {(p.kind, p.table, p.row_id) for p in broken.problems}
        assert (BreakKind.ROW_UNRECORDED, "users", intruder) in found
        # The earliest break in the log comes first: the delivery's entry is sealed, the
        # forged row has none.
        assert broken.first_broken is not None
        assert broken.first_broken.table == "police_deliveries"
        await execute(engine, "DELETE FROM users WHERE id = :i", i=intruder)
        async with engine.begin() as connection:  # the receipt put back as it was
            await connection.execute(insert(DELIVERIES).values(**receipt._mapping))
        assert (await verify_database(engine)).ok

        # The log itself: an entry's actor rewritten, then an entry removed.
        # (An alarm's first entry: its row has later ones, so only the log itself is broken.)
        seq = await one_value(
            engine,
            "SELECT min(seq) FROM audit_entries WHERE table_name = 'alarms' AND action = 'insert'",
        )
        await execute(engine, "UPDATE audit_entries SET actor = 'nobody' WHERE seq = :s", s=seq)
        broken = await verify_database(engine)
        assert broken.first_broken is not None
        first = broken.first_broken
        assert (first.kind, first.seq) == (BreakKind.ENTRY_ALTERED, seq)
        await execute(engine, "DELETE FROM audit_entries WHERE seq = :s", s=seq)
        broken = await verify_database(engine)
        assert broken.first_broken is not None
        first = broken.first_broken
        assert (first.kind, first.seq) == (BreakKind.ENTRY_MISSING, seq)
        code, output = await cli_verify(tree, tmp_path)
        assert code == 3
        assert f"log entries {seq} are missing" in output
        code, output = await cli_verify(tree, tmp_path, "--json")
        assert code == 3
        body = json.loads(output)
        assert body["first_broken"]["reason"] == "entry_missing"
    finally:
        await engine.dispose()


async def test_a_rewritten_log_is_caught_by_a_head_noted_earlier(engine: AsyncEngine) -> None:
    """Whoever can write every row can recompute the chain after an edit; a head noted
    outside the database (printed on the monthly report) cannot be recomputed."""
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1",
        database_url="sqlite+aiosqlite:///unused.db",
        database_schema=None,
        police_urls={},
    )
    accounts = {"inspector": (Role.INSPECTOR, None)}
    async with (
        gateway_context(parse_settings(tree), engine, accounts, "anchor-pass-1") as context,
        api_client(context) as http,
    ):
        headers = await bearer(http, "inspector", "anchor-pass-1")
        for button in ("btn-north", "btn-office"):
            answer = await http.post(
                "/api/v1/alarm-tests/notices",
                json={
                    "school": SCHOOL,
                    "button": button,
                    "window_minutes": 5,
                    "police_officer": "张警官",
                    "bureau_staff": "李老师",
                    "note": "月测",
                },
                headers=headers,
            )
            assert answer.status_code == 201, answer.text
    noted = (await verify_database(engine)).head
    assert noted is not None

    # The forger edits a notice, records the new digest in its entry and re-seals from there.
    notice = await one_value(engine, "SELECT min(id) FROM test_notices")
    await execute(engine, "UPDATE test_notices SET note = '未测' WHERE id = :i", i=notice)
    async with engine.connect() as connection:
        row = (await connection.execute(select(NOTICES).where(NOTICES.c.id == notice))).one()
    entry = await one_value(
        engine,
        "SELECT max(id) FROM audit_entries WHERE table_name = 'test_notices' AND row_id = :i",
        i=notice,
    )
    await execute(
        engine,
        "UPDATE audit_entries SET digest = :d WHERE id = :e",
        d=row_digest(NOTICES, row._mapping),
        e=entry,
    )
    seq = await one_value(engine, "SELECT seq FROM audit_entries WHERE id = :e", e=entry)
    await execute(
        engine,
        "UPDATE audit_entries SET seq = NULL, prev_hash = NULL, hash = NULL WHERE seq >= :s",
        s=seq,
    )
    writer = DatabaseWriter(engine)
    try:
        await writer.run(seal_pending)
    finally:
        await writer.aclose()

    assert (await verify_database(engine)).ok  # the limit of any unkeyed chain
    caught = await verify_database(engine, anchors=[noted])
    assert caught.first_broken is not None
    assert (caught.first_broken.kind, caught.first_broken.seq) == (
        BreakKind.ANCHOR_MISMATCH,
        noted.seq,
    )
    short = parse_anchor(f"{noted.seq}:{noted.hash[:16]}")  # as printed on the report
    assert not (await verify_database(engine, anchors=[short])).ok
