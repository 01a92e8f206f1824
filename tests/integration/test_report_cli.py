"""`campus-gateway report monthly` against a real database (SQLite and PostgreSQL): it writes
the month's files, prints their paths, records each export as the command line's, and
refuses a bad `--month` or `--format` with exit code 2."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from gateway.cli import app
from gateway.settings import parse_settings
from tests.support import report_records as records
from tests.support.context import gateway_context

SCHOOL = "fy-dongguan-ms"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def site_tree(database: tuple[str, str | None]) -> dict[str, Any]:
    url, schema = database
    gateway: dict[str, Any] = {"database_url": url}
    if schema is not None:
        gateway["database_schema"] = schema
    return {
        "gateway": gateway,
        "schools": [
            {
                "id": SCHOOL,
                "name": "汾阳市东关中学",
                "district": "城关区",
                "gates": [{"id": "gate-north", "name": "北门"}],
            }
        ],
    }


async def invoke(*args: str) -> Result:
    # The command runs its own event loop: give it a thread of its own.
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_the_monthly_report_as_files(
    tmp_path: Path, database: tuple[str, str | None], engine: AsyncEngine
) -> None:
    tree = site_tree(database)
    config = tmp_path / "site.yaml"
    config.write_text(yaml.safe_dump(tree, allow_unicode=True), encoding="utf-8")
    async with gateway_context(parse_settings(tree), engine) as context:
        # Staffed from before September, 20 minutes empty on the 9th (08:00 UTC = 16:00).
        await records.gate_reports(
            context,
            SCHOOL,
            "gate-north",
            [
                (utc("2026-08-30T00:00"), True),
                (utc("2026-09-09T08:00"), False),
                (utc("2026-09-09T08:20"), True),
            ],
        )
        out = tmp_path / "reports"
        result = await invoke(
            "report", "monthly", "--config", str(config), "--month", "2026-09", "--out", str(out)
        )
        assert result.exit_code == 0, result.output
        names = [f"campus-report-2026-09.{ext}" for ext in ("json", "csv", "xlsx", "pdf")]
        assert result.output.splitlines() == [str(out / name) for name in names]
        report = json.loads((out / names[0]).read_text(encoding="utf-8"))
        (school,) = report["schools"]
        assert school["gate_days"] == {"done": 29, "required": 30, "value": 29 / 30}
        assert school["unstaffed_minutes"] == 20.0
        assert (out / names[1]).read_bytes().startswith(b"\xef\xbb\xbf")
        assert (out / names[2]).read_bytes().startswith(b"PK")
        assert (out / names[3]).read_bytes().startswith(b"%PDF")

        one = tmp_path / "one"
        only = await invoke(
            *("report", "monthly", "-c", str(config), "--month", "2026-09"),
            *("--format", "pdf", "--out", str(one)),
        )
        assert only.exit_code == 0, only.output
        assert [p.name for p in one.iterdir()] == ["campus-report-2026-09.pdf"]

        for args, option, message in (
            (("--month", "2026-13"), "--month", "the month must be 01 to 12"),
            (("--month", "2099-01"), "--month", "has not begun yet"),
            (("--month", "2026-09", "--format", "docx"), "--format", "'docx' is not a format"),
        ):
            refused = await invoke("report", "monthly", "-c", str(config), *args)
            assert refused.exit_code == 2, refused.output
            assert f"{option}: " in refused.output
            assert message in refused.output

        exports = await records.recorded_exports(context)
    assert exports == [
        ("cli", "admin", "monthly:2026-09:json"),
        ("cli", "admin", "monthly:2026-09:csv"),
        ("cli", "admin", "monthly:2026-09:xlsx"),
        ("cli", "admin", "monthly:2026-09:pdf"),
        ("cli", "admin", "monthly:2026-09:pdf"),
    ]
