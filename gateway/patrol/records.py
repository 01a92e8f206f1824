"""Recording patrol scans, as a function of a `Connection` (run by `DatabaseWriter`, or inside
the ingest transaction for reader scans). Each (school, source, message id) is recorded once;
an accepted scan of the same guard at the same checkpoint within `duplicate_window_s` of
another is kept as a duplicate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from sqlalchemy import Insert, Table, and_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.patrol.reasons import ScanReason
from gateway.patrol.scans import IncomingScan, ScanVerdict, check_scan
from gateway.settings import Settings
from gateway.storage.models import PatrolScan

SCANS = cast(Table, PatrolScan.__table__)


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    scan: IncomingScan
    verdict: ScanVerdict
    record_id: int
    new: bool  # False: this message was already on record (the verdict is the recorded one)


def _insert(connection: Connection) -> Insert:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(SCANS).on_conflict_do_nothing(constraint="uq_patrol_scans_message")
    return sqlite.insert(SCANS).on_conflict_do_nothing()


def record_scans(
    connection: Connection, settings: Settings, scans: Sequence[IncomingScan]
) -> list[ScanOutcome]:
    """Check and store scans, in order; one outcome per scan."""
    window = timedelta(seconds=settings.patrol.duplicate_window_s)
    outcomes = []
    c = SCANS.c
    for scan in scans:
        verdict = check_scan(settings, scan)
        if verdict.accepted and window > timedelta(0):
            earlier = connection.execute(
                select(c.id, c.scanned_at)
                .where(
                    and_(
                        c.school_id == scan.school_id,
                        c.checkpoint_id == verdict.checkpoint_id,
                        c.guard_id == scan.guard_id,
                        c.accepted.is_(True),
                        c.scanned_at >= scan.scanned_at - window,
                        c.scanned_at <= scan.scanned_at + window,
                    )
                )
                .limit(1)
            ).first()
            if earlier is not None:
                verdict = verdict.refused(
                    ScanReason.DUPLICATE,
                    f"the same guard scanned this checkpoint at {earlier.scanned_at.isoformat()} "
                    f"(within {settings.patrol.duplicate_window_s} s)",
                )
        row = {
            "school_id": scan.school_id,
            "checkpoint_id": verdict.checkpoint_id,
            "guard_id": scan.guard_id[:64],
            "source": scan.source.value,
            "message_id": scan.message_id[:128],
            "tag": scan.tag[:512],
            "key_version": verdict.key_version,
            "scanned_at": scan.scanned_at,
            "received_at": scan.received_at,
            "accepted": verdict.accepted,
            "reason": None if verdict.reason is None else verdict.reason.value,
            "detail": verdict.detail,
            "event_id": scan.event_id,
            "submitted_by": scan.submitted_by,
        }
        inserted = connection.execute(_insert(connection).values(row).returning(*SCANS.c)).all()
        if inserted:
            journal_rows(connection, SCANS, inserted, action=EntryAction.INSERT)
            outcomes.append(ScanOutcome(scan, verdict, inserted[0].id, new=True))
            continue
        stored = connection.execute(
            select(c.id, c.checkpoint_id, c.key_version, c.reason, c.detail).where(
                c.school_id == scan.school_id,
                c.source == scan.source.value,
                c.message_id == scan.message_id[:128],
            )
        ).one()
        recorded = ScanVerdict(
            stored.checkpoint_id,
            stored.key_version,
            None if stored.reason is None else ScanReason(stored.reason),
            stored.detail,
        )
        outcomes.append(ScanOutcome(scan, recorded, stored.id, new=False))
    return outcomes
