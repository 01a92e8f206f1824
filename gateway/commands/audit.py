"""`campus-gateway audit verify`: prove the records were not edited behind the gateway's
back, or show where they were."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import SQLAlchemyError

from gateway.audit.actions import record_user_action
from gateway.audit.chain import verify_database
from gateway.audit.verify import Verification
from gateway.errors import StorageError
from gateway.reports.model import AuditHead
from gateway.settings import Settings
from gateway.storage.database import create_engine, create_sessionmaker
from gateway.storage.migrate import upgrade_database


async def verify_log(settings: Settings, anchors: Sequence[AuditHead] = ()) -> Verification:
    """Verify the site's database (migrating it first, which only ever adds)."""
    engine = create_engine(settings.gateway.database_url, schema=settings.gateway.database_schema)
    try:
        await upgrade_database(engine)
        result = await verify_database(engine, anchors=anchors)
        async with create_sessionmaker(engine)() as session:
            session.info["actor"] = "cli"
            await record_user_action(
                session,
                username="cli",
                role="admin",
                action="audit.verify",
                subject="ok" if result.ok else f"broken:{result.problem_count}",
            )
            await session.commit()
    except (SQLAlchemyError, OSError) as exc:
        raise StorageError(f"cannot verify the audit log: {exc}") from exc
    finally:
        await engine.dispose()
    return result


def describe(result: Verification) -> list[str]:
    """The verification in plain lines, first broken link first."""
    lines = []
    if result.ok:
        lines.append(
            f"intact: {result.entries} sealed log entries and {result.rows_checked} records "
            "match; nothing was edited or deleted behind the gateway's back"
        )
    else:
        lines.append(f"BROKEN: {result.problem_count} problem(s) found")
        first = result.first_broken
        if first is not None:
            lines.append(f"first broken link: {first.message}")
        lines += [f"  - [{p.kind}] {p.message}" for p in result.problems[1:]]
    if result.head is not None:
        lines.append(f"head: entry {result.head.seq}, hash {result.head.hash}")
    if result.unsealed:
        lines.append(f"{result.unsealed} recent entries not sealed yet (checked against rows)")
    return lines
