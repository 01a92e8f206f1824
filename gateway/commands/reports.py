"""`campus-gateway report monthly`: the monthly report as files, each export on record in
the audit log like a download from the API."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.actions import record_user_action
from gateway.errors import GatewayError, StorageError
from gateway.reports.figures import monthly_report
from gateway.reports.formats import (
    EXPORT_ACTION,
    ReportFormat,
    export_subject,
    file_name,
    render_report,
)
from gateway.reports.period import InvalidPeriod
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database

__all__ = [
    "ALL_FORMATS",
    "CLI_ROLE",
    "CLI_USERNAME",
    "BadOption",
    "ReportNotWritten",
    "export_monthly_report",
    "write_monthly_report",
]

# Who the audit log names for an export from the command line: whoever runs it can read
# the whole database, an administrator's power.
CLI_USERNAME = "cli"
CLI_ROLE = "admin"


ALL_FORMATS = "all"


class ReportNotWritten(GatewayError):
    """A report file could not be written where asked."""


class BadOption(GatewayError):
    """A command-line option with a value the command cannot use; `option` names it."""

    def __init__(self, option: str, detail: str) -> None:
        self.option = option
        super().__init__(f"{option}: {detail}")


def formats_of(text: str) -> list[ReportFormat]:
    """`all` or one format name -> the formats to write."""
    if text == ALL_FORMATS:
        return list(ReportFormat)
    try:
        return [ReportFormat(text)]
    except ValueError:
        names = ", ".join([ALL_FORMATS, *ReportFormat])
        raise BadOption("--format", f"{text!r} is not a format (use one of {names})") from None


def _write(path: Path, body: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    except OSError as exc:
        raise ReportNotWritten(f"cannot write {path}: {exc.strerror or exc}") from exc


async def write_monthly_report(
    settings: Settings,
    month: str,
    formats: Sequence[ReportFormat],
    directory: Path,
    *,
    now: datetime,
) -> list[Path]:
    """Write `campus-report-YYYY-MM.<ext>` for each format into `directory` (made if
    missing) and record each export; return the paths. InvalidPeriod for a month that
    cannot be reported."""
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
        async with create_sessionmaker(engine)() as session:
            report = await monthly_report(session, settings, month, now=now)
            bodies = {
                f: await asyncio.to_thread(render_report, report, f) for f in dict.fromkeys(formats)
            }
            # On record before any file exists: a file on disk was always logged as taken.
            for report_format in bodies:
                await record_user_action(
                    session,
                    username=CLI_USERNAME,
                    role=CLI_ROLE,
                    action=EXPORT_ACTION,
                    subject=export_subject(report.month, report_format),
                )
            await session.commit()
    except SQLAlchemyError as exc:
        raise StorageError(f"cannot read the report from the database: {exc}") from exc
    finally:
        await engine.dispose()
    written = []
    for report_format, body in bodies.items():
        path = directory / file_name(report.month, report_format)
        await asyncio.to_thread(_write, path, body)
        written.append(path)
    return written


async def export_monthly_report(
    settings: Settings, *, month: str, format_text: str, directory: Path, now: datetime
) -> list[Path]:
    """The command's work: its options checked (BadOption names the one at fault), then
    `write_monthly_report`."""
    formats = formats_of(format_text)
    try:
        return await write_monthly_report(settings, month, formats, directory, now=now)
    except InvalidPeriod as exc:
        raise BadOption("--month", str(exc)) from exc
