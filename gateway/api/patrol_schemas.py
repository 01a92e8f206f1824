"""Bodies of the patrol API. Times are RFC 3339 in the site's time zone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.api.free_text import FreeText
from gateway.api.request_model import RequestModel
from gateway.compliance.patrols import RoundState, RoundStatus
from gateway.patrol.queries import CheckpointDay
from gateway.patrol.reasons import REASON_TEXT, ScanReason, ScanSource
from gateway.patrol.records import ScanOutcome
from gateway.settings import Settings
from gateway.storage.models import PatrolScan

ClientId = Field(
    None,
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9_.:-]+$",
    description="The client's id for this scan: a scan sent twice with one id is recorded once",
)


class ScanIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    tag: FreeText = Field(
        min_length=1, max_length=512, description="The text of the QR code or NFC tag"
    )
    at: AwareDatetime | None = Field(None, description="When it was scanned (default: now)")
    id: str | None = ClientId
    guard: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="The guard (admins only; a guard's scans are his own)",
    )
    school: str | None = Field(None, description="The school (admins only; default: the tag's)")
    via: Literal["qr", "nfc"] = Field(
        "qr", description="How the phone read the tag: its QR code, or its NFC tag"
    )


class UploadRecord(RequestModel):
    model_config = ConfigDict(extra="forbid")

    guard: str = Field(min_length=1, max_length=64)
    tag: FreeText = Field(min_length=1, max_length=512)
    at: AwareDatetime = Field(description="The scan time on the wand, with its offset")
    id: str | None = ClientId


class UploadIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    device: str | None = Field(None, max_length=64, description="The wand, for the record")
    records: list[UploadRecord] = Field(min_length=1, max_length=5000)


class ScanOut(BaseModel):
    id: int = Field(description="The record's id")
    school_id: str
    checkpoint_id: str | None
    checkpoint_name: str | None
    guard_id: str
    source: ScanSource
    scanned_at: datetime
    received_at: datetime
    accepted: bool
    reason: ScanReason | None = Field(description="Why it does not count (a suspicious scan)")
    message: str = Field(description="For the guard, in Chinese")
    detail: str | None
    already_recorded: bool = Field(False, description="This scan id was on record already")
    counted: bool | None = Field(
        None,
        description="Whether it counts as a patrol of a key checkpoint (false: too soon after "
        "the last one that counted); only in answers to a scan",
    )
    patrols: int | None = Field(None, description="The checkpoint's patrols that day, with it")
    required: int | None = Field(None, description="The patrols the day needs")

    @classmethod
    def of_outcome(cls, outcome: ScanOutcome, settings: Settings) -> ScanOut:
        scan, verdict = outcome.scan, outcome.verdict
        zone = settings.gateway.zone
        return cls(
            id=outcome.record_id,
            school_id=scan.school_id,
            checkpoint_id=verdict.checkpoint_id,
            checkpoint_name=_checkpoint_name(settings, scan.school_id, verdict.checkpoint_id),
            guard_id=scan.guard_id,
            source=scan.source,
            scanned_at=scan.scanned_at.astimezone(zone),
            received_at=scan.received_at.astimezone(zone),
            accepted=verdict.accepted,
            reason=verdict.reason,
            message=verdict.message,
            detail=verdict.detail,
            already_recorded=not outcome.new,
        )

    @classmethod
    def of_row(cls, row: PatrolScan, settings: Settings) -> ScanOut:
        zone = settings.gateway.zone
        reason = None if row.reason is None else ScanReason(row.reason)
        return cls(
            id=row.id,
            school_id=row.school_id,
            checkpoint_id=row.checkpoint_id,
            checkpoint_name=_checkpoint_name(settings, row.school_id, row.checkpoint_id),
            guard_id=row.guard_id,
            source=ScanSource(row.source),
            scanned_at=row.scanned_at.astimezone(zone),
            received_at=row.received_at.astimezone(zone),
            accepted=row.accepted,
            reason=reason,
            message="巡查已记录" if reason is None else REASON_TEXT[reason],
            detail=row.detail,
        )


def _checkpoint_name(settings: Settings, school_id: str, checkpoint_id: str | None) -> str | None:
    school = settings.school(school_id)
    checkpoint = school.checkpoint(checkpoint_id) if school and checkpoint_id else None
    return checkpoint.name if checkpoint else None


class UploadResultOut(BaseModel):
    index: int = Field(description="The record's position in the upload, from 0")
    accepted: bool
    reason: str | None = Field(description="A scan reason, or `invalid` for a record refused")
    message: str
    scan: ScanOut | None = Field(description="The record kept (None for an invalid record)")


class UploadOut(BaseModel):
    received: int
    accepted: int
    refused: int = Field(description="Kept as suspicious scans, with their reason")
    invalid: int = Field(description="Not kept: a bad time, too old, or in the future")
    already_recorded: int
    results: list[UploadResultOut]


class PatrolOut(BaseModel):
    scanned_at: datetime
    guard_id: str
    source: ScanSource
    scan_id: int


class RoundOut(BaseModel):
    due_at: datetime
    window_start: datetime
    window_end: datetime
    status: RoundStatus
    scanned_at: datetime | None
    guard_id: str | None

    @classmethod
    def of(cls, state: RoundState, zone: ZoneInfo) -> RoundOut:
        return cls(
            due_at=state.due_at.astimezone(zone),
            window_start=state.window_start.astimezone(zone),
            window_end=state.window_end.astimezone(zone),
            status=state.status,
            scanned_at=state.scan.scanned_at.astimezone(zone) if state.scan else None,
            guard_id=state.scan.guard_id if state.scan else None,
        )


class PatrolDayOut(BaseModel):
    school_id: str
    school_name: str
    checkpoint_id: str
    checkpoint_name: str
    date: date
    complete: bool = Field(description="False while the day runs: the figures are so far")
    required: int
    patrols: int = Field(description="Patrols that count")
    remaining: int
    compliant: bool
    min_spacing_s: int
    counted: list[PatrolOut] = Field(description="The scans that count as patrols")
    scans: list[ScanOut] = Field(description="Every scan of the checkpoint that day, refused too")
    rounds: list[RoundOut]

    @classmethod
    def of(cls, item: CheckpointDay, settings: Settings) -> PatrolDayOut:
        zone = settings.gateway.zone
        judged = item.judged
        return cls(
            school_id=item.school.id,
            school_name=item.school.name,
            checkpoint_id=item.checkpoint.id,
            checkpoint_name=item.checkpoint.name,
            date=judged.day,
            complete=judged.complete,
            required=judged.required,
            patrols=len(judged.counted),
            remaining=judged.remaining,
            compliant=judged.compliant,
            min_spacing_s=settings.rules.patrol_min_spacing_s,
            counted=[
                PatrolOut(
                    scanned_at=s.scanned_at.astimezone(zone),
                    guard_id=s.guard_id,
                    source=ScanSource(s.source),
                    scan_id=s.record_id,
                )
                for s in judged.counted
            ],
            scans=[ScanOut.of_row(row, settings) for row in item.scans],
            rounds=[RoundOut.of(r, zone) for r in judged.rounds],
        )


class DueOut(BaseModel):
    """A key checkpoint on the guard's list for today."""

    school_id: str
    checkpoint_id: str
    checkpoint_name: str
    patrols: int
    required: int
    remaining: int
    compliant: bool
    last_scan_at: datetime | None
    overdue: int = Field(description="Rounds of today missed by more than the grace period")
    next_due_at: datetime | None = Field(description="The round open now, or the next one")
    status: RoundStatus | None = Field(description="That round's status: due or upcoming")
    rounds: list[RoundOut]

    @classmethod
    def of(cls, item: CheckpointDay, settings: Settings) -> DueOut:
        zone = settings.gateway.zone
        judged = item.judged
        pending = next((r for r in judged.rounds if r.status is RoundStatus.DUE), None) or next(
            (r for r in judged.rounds if r.status is RoundStatus.UPCOMING), None
        )
        last = judged.scans[-1].scanned_at.astimezone(zone) if judged.scans else None
        return cls(
            school_id=item.school.id,
            checkpoint_id=item.checkpoint.id,
            checkpoint_name=item.checkpoint.name,
            patrols=len(judged.counted),
            required=judged.required,
            remaining=judged.remaining,
            compliant=judged.compliant,
            last_scan_at=last,
            overdue=sum(r.status is RoundStatus.OVERDUE for r in judged.rounds),
            next_due_at=pending.due_at.astimezone(zone) if pending else None,
            status=pending.status if pending else None,
            rounds=[RoundOut.of(r, zone) for r in judged.rounds],
        )
