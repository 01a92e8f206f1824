"""What `GET /api/v1/audit/verify` (and `audit verify --json`) answer."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from gateway.audit.verify import Break, BreakKind, Verification


class AuditHeadOut(BaseModel):
    seq: int
    hash: str


class AuditBreakOut(BaseModel):
    seq: int | None
    table: str
    row_id: int | None
    reason: BreakKind
    message: str

    @classmethod
    def of(cls, found: Break) -> AuditBreakOut:
        return cls(
            seq=found.seq,
            table=found.table,
            row_id=found.row_id,
            reason=found.kind,
            message=found.message,
        )


class AuditVerifyOut(BaseModel):
    ok: bool
    checked_at: datetime
    entries: int
    unsealed: int
    rows_checked: int
    head: AuditHeadOut | None
    first_broken: AuditBreakOut | None
    problems: list[AuditBreakOut]
    problem_count: int

    @classmethod
    def of(cls, result: Verification, zone: ZoneInfo) -> AuditVerifyOut:
        """`zone`: the site's, for `checked_at` (like every time the API gives)."""
        head = result.head
        return cls(
            ok=result.ok,
            checked_at=result.checked_at.astimezone(zone),
            entries=result.entries,
            unsealed=result.unsealed,
            rows_checked=result.rows_checked,
            head=None if head is None else AuditHeadOut(seq=head.seq, hash=head.hash),
            first_broken=None
            if result.first_broken is None
            else AuditBreakOut.of(result.first_broken),
            problems=[AuditBreakOut.of(p) for p in result.problems],
            problem_count=result.problem_count,
        )
