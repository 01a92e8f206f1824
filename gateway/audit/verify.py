"""Verifying the log: the chain is walked link by link, then every audited row is compared
with the last entry that recorded it. Read-only; one consistent snapshot of the database."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from gateway.audit.digest import (
    GENESIS,
    EntryAction,
    entry_hash,
    listing_digest,
    parse_listing,
    row_digest,
)
from gateway.audit.journal import AUDITED_TABLES
from gateway.audit.seal import count_unsealed, head_of
from gateway.reports.model import AuditHead
from gateway.storage.models import AuditEntry

ENTRIES = cast(Table, AuditEntry.__table__)
PROBLEMS_KEPT = 100
CHAIN_BATCH = 5000
ROW_WINDOW = 5000
ROW_WINDOW_BY_TABLE = {"snapshots": 50}  # pictures are large: fewer per read


class BreakKind(StrEnum):
    ENTRY_ALTERED = "entry_altered"  # a sealed entry's content or hash was changed
    ENTRY_MISSING = "entry_missing"  # a sealed entry was removed (its position is empty)
    ROW_ALTERED = "row_altered"  # a row differs from the last entry that recorded it
    ROW_DELETED = "row_deleted"  # a recorded row is gone
    ROW_UNRECORDED = "row_unrecorded"  # a row no entry recorded: written behind our back
    # A head noted earlier (on a monthly report, say) is not in the log any more: the log
    # was rewritten from that point, or cut short.
    ANCHOR_MISMATCH = "anchor_mismatch"


@dataclass(frozen=True, slots=True)
class Break:
    kind: BreakKind
    table: str
    seq: int | None  # the entry concerned (for a row: its last entry), if sealed
    row_id: int | None
    message: str

    def order(self) -> tuple[bool, int]:
        return (self.seq is None, self.seq or 0)


@dataclass(slots=True)
class Findings:
    kept: list[Break] = field(default_factory=list)
    count: int = 0

    def add(self, found: Break) -> None:
        self.count += 1
        self.kept.append(found)
        if len(self.kept) > PROBLEMS_KEPT * 2:  # keep the earliest in the chain
            self.kept.sort(key=Break.order)
            del self.kept[PROBLEMS_KEPT:]


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    checked_at: datetime
    entries: int
    unsealed: int
    rows_checked: int
    head: AuditHead | None
    first_broken: Break | None
    problems: tuple[Break, ...]
    problem_count: int


def verify_log(
    connection: Connection, *, now: datetime, anchors: Sequence[AuditHead] = ()
) -> Verification:
    """`anchors`: heads noted earlier outside the database, each must still be in the chain
    (a plain hash chain can be recomputed by whoever can write every row; a head kept
    elsewhere cannot)."""
    findings = Findings()
    entries = _walk_chain(connection, findings, {anchor.seq: anchor for anchor in anchors})
    rows = sum(_check_table(connection, table, findings) for table in AUDITED_TABLES.values())
    problems = tuple(sorted(findings.kept, key=Break.order)[:PROBLEMS_KEPT])
    return Verification(
        ok=findings.count == 0,
        checked_at=now,
        entries=entries,
        unsealed=count_unsealed(connection),
        rows_checked=rows,
        head=head_of(connection),
        first_broken=problems[0] if problems else None,
        problems=problems,
        problem_count=findings.count,
    )


def _walk_chain(connection: Connection, findings: Findings, anchors: dict[int, AuditHead]) -> int:
    """Check every sealed entry's position, link and hash, in order; return how many."""
    c = ENTRIES.c
    expected_seq, prev_hash, walked = 1, GENESIS, 0
    while True:
        batch = connection.execute(
            select(ENTRIES).where(c.seq >= expected_seq).order_by(c.seq).limit(CHAIN_BATCH)
        ).all()
        for entry in batch:
            walked += 1
            if entry.seq != expected_seq:
                gap = (
                    f"{expected_seq}"
                    if entry.seq == expected_seq + 1
                    else (f"{expected_seq}–{entry.seq - 1}")
                )
                findings.add(
                    Break(
                        BreakKind.ENTRY_MISSING,
                        "audit_entries",
                        expected_seq,
                        None,
                        f"log entries {gap} are missing (deleted from the log)",
                    )
                )
            recomputed = entry_hash(entry.prev_hash or "", entry)
            if entry.prev_hash != prev_hash or entry.hash != recomputed:
                what = "its link to the entry before" if entry.hash == recomputed else "its content"
                findings.add(
                    Break(
                        BreakKind.ENTRY_ALTERED,
                        entry.table_name,
                        entry.seq,
                        entry.row_id,
                        f"log entry {entry.seq} ({entry.table_name} row {entry.row_id}) was "
                        f"changed: {what} does not match its hash",
                    )
                )
            anchor = anchors.pop(entry.seq, None)
            if anchor is not None and not (entry.hash or "").startswith(anchor.hash):
                findings.add(_anchor_break(anchor, "holds another hash"))
            prev_hash = entry.hash or ""
            expected_seq = entry.seq + 1
        if len(batch) < CHAIN_BATCH:
            for anchor in anchors.values():
                findings.add(_anchor_break(anchor, "is not in the log"))
            return walked


def _anchor_break(anchor: AuditHead, what: str) -> Break:
    return Break(
        BreakKind.ANCHOR_MISMATCH,
        "audit_entries",
        anchor.seq,
        None,
        f"log entry {anchor.seq} {what}: the log was rewritten or cut short after "
        f"{anchor.hash[:16]}… was noted",
    )


@dataclass(frozen=True, slots=True)
class LastEntry:
    """The latest entry recording a row: its id (the order entries were written in), its
    position in the chain if sealed, and what it recorded of that row."""

    entry_id: int
    seq: int | None
    action: str
    digest: str


def _last_single_entries(table: Table, low: int, high: int) -> Any:
    """The last one-row entry of each row of `table` with an id in [low, high)."""
    c = ENTRIES.c
    ranked = (
        select(
            c.id,
            c.row_id,
            c.seq,
            c.action,
            c.digest,
            func.row_number().over(partition_by=c.row_id, order_by=c.id.desc()).label("rank"),
        )
        .where(
            c.table_name == table.name,
            c.row_id >= low,
            c.row_id < high,
            c.row_digests.is_(None),
        )
        .subquery()
    )
    return select(
        ranked.c.id, ranked.c.row_id, ranked.c.seq, ranked.c.action, ranked.c.digest
    ).where(ranked.c.rank == 1)


class _TableCheck:
    """One table's rows against their last entries, window by window of ids."""

    def __init__(self, connection: Connection, table: Table, findings: Findings) -> None:
        self.connection = connection
        self.table = table
        self.findings = findings
        self.listed_seen: set[int] = set()  # listed entries already checked for integrity

    def last_entries(self, low: int, high: int) -> dict[int, LastEntry]:
        last = {
            entry.row_id: LastEntry(entry.id, entry.seq, entry.action, entry.digest)
            for entry in self.connection.execute(_last_single_entries(self.table, low, high))
        }
        c = ENTRIES.c
        listed = self.connection.execute(
            select(c.id, c.seq, c.action, c.digest, c.row_digests)
            .where(
                c.table_name == self.table.name,
                c.row_digests.is_not(None),
                c.row_id < high,
                c.last_row_id >= low,
            )
            .order_by(c.id)
        )
        for entry in listed:
            for row_id, digest in self._listed_rows(entry):
                known = last.get(row_id)
                if low <= row_id < high and (known is None or known.entry_id < entry.id):
                    last[row_id] = LastEntry(entry.id, entry.seq, entry.action, digest)
        return last

    def _listed_rows(self, entry: Any) -> list[tuple[int, str]]:
        """The rows a listed entry records; none if its listing was tampered with."""
        first_visit = entry.id not in self.listed_seen
        self.listed_seen.add(entry.id)
        try:
            rows = parse_listing(entry.row_digests)
            intact = listing_digest(entry.row_digests) == entry.digest
        except ValueError:
            rows, intact = [], False
        if intact:
            return rows
        if first_visit:
            where = f"log entry {entry.seq}" if entry.seq is not None else "an unsealed entry"
            self.findings.add(
                Break(
                    BreakKind.ENTRY_ALTERED,
                    self.table.name,
                    entry.seq,
                    None,
                    f"{where} ({self.table.name}, several rows) was changed: its list of "
                    "rows does not match its digest",
                )
            )
        return []


def _check_table(connection: Connection, table: Table, findings: Findings) -> int:
    """Compare each row with its last entry, window by window of ids; return rows checked."""
    c = ENTRIES.c
    top_row = connection.execute(select(func.max(table.c.id))).scalar() or 0
    top_entry = (
        connection.execute(
            select(func.max(func.coalesce(c.last_row_id, c.row_id))).where(
                c.table_name == table.name
            )
        ).scalar()
        or 0
    )
    window = ROW_WINDOW_BY_TABLE.get(table.name, ROW_WINDOW)
    check = _TableCheck(connection, table, findings)
    checked = 0
    for low in range(0, max(top_row, top_entry) + 1, window):
        high = low + window
        rows = {
            row.id: row._mapping
            for row in connection.execute(select(table).where(table.c.id >= low, table.c.id < high))
        }
        last = check.last_entries(low, high)
        checked += len(rows)
        for row_id in sorted(rows.keys() | last.keys()):
            found = _compare(table, row_id, rows.get(row_id), last.get(row_id))
            if found is not None:
                findings.add(found)
    return checked


def _compare(table: Table, row_id: int, row: Any, entry: LastEntry | None) -> Break | None:
    name = table.name
    if entry is None:
        return Break(
            BreakKind.ROW_UNRECORDED,
            name,
            None,
            row_id,
            f"{name} row {row_id} is in no log entry: it was written behind the gateway's back",
        )
    deleted = entry.action == EntryAction.DELETE.value
    if row is None:
        if deleted:
            return None
        return Break(
            BreakKind.ROW_DELETED,
            name,
            entry.seq,
            row_id,
            f"{name} row {row_id} was deleted behind the gateway's back",
        )
    if deleted or row_digest(table, row) != entry.digest:
        return Break(
            BreakKind.ROW_ALTERED,
            name,
            entry.seq,
            row_id,
            f"{name} row {row_id} was changed behind the gateway's back "
            "(it differs from what the log recorded)",
        )
    return None
