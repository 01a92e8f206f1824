"""A patrol scan as it arrives from any source, and the check of what it proves (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.errors import PayloadRejected
from gateway.patrol.reasons import REASON_TEXT, ScanReason, ScanSource
from gateway.patrol.tokens import TagRejected, verify_tag
from gateway.settings import Settings


@dataclass(frozen=True, slots=True)
class IncomingScan:
    school_id: str  # the school it was sent for (the reader's topic, the guard's account)
    guard_id: str
    tag: str
    scanned_at: datetime  # the scan time: late uploads count at it
    received_at: datetime
    source: ScanSource
    message_id: str  # unique per school and source: a resent scan is recorded once
    reader_checkpoint: str | None = None  # the checkpoint of the reader that read it
    event_id: int | None = None
    submitted_by: str | None = None


@dataclass(frozen=True, slots=True)
class ScanVerdict:
    checkpoint_id: str | None
    key_version: int | None
    reason: ScanReason | None  # None: accepted
    detail: str | None = None

    @property
    def accepted(self) -> bool:
        return self.reason is None

    @property
    def message(self) -> str:
        """For the guard, in Chinese: what happened to the scan."""
        if self.reason is None:
            return "巡查已记录"
        return REASON_TEXT[self.reason]

    def refused(self, reason: ScanReason, detail: str) -> ScanVerdict:
        return ScanVerdict(self.checkpoint_id, self.key_version, reason, detail)


def check_scan(settings: Settings, scan: IncomingScan) -> ScanVerdict:
    """What a scan proves: the tag's signature, its school, the reader's checkpoint, the
    guard. Duplicates are found later, against the record."""
    try:
        tag = verify_tag(settings, scan.tag)
    except TagRejected as exc:
        # Shown at the checkpoint it claims (when that is one of the school's), so that an
        # inspector sees the forged scans where they pretend to be.
        claimed = None
        if exc.claimed is not None and exc.claimed[0] == scan.school_id:
            school = settings.school(scan.school_id)
            if school is not None and school.checkpoint(exc.claimed[1]) is not None:
                claimed = exc.claimed[1]
        return ScanVerdict(scan.reader_checkpoint or claimed, None, exc.reason, exc.detail)
    verdict = ScanVerdict(tag.checkpoint_id, tag.key_version, None)
    if tag.school_id != scan.school_id:
        return verdict.refused(
            ScanReason.WRONG_SCHOOL,
            f"the tag belongs to school {tag.school_id!r}, "
            f"the scan was made for {scan.school_id!r}",
        )
    if scan.reader_checkpoint is not None and scan.reader_checkpoint != tag.checkpoint_id:
        return ScanVerdict(scan.reader_checkpoint, tag.key_version, None).refused(
            ScanReason.WRONG_CHECKPOINT,
            f"reader {scan.reader_checkpoint!r} read the tag of checkpoint {tag.checkpoint_id!r}: "
            "a copied or moved tag",
        )
    school = settings.school(scan.school_id)
    if school is None or school.guard(scan.guard_id) is None:
        return verdict.refused(
            ScanReason.UNKNOWN_GUARD,
            f"{scan.guard_id!r} is not one of the guards of {scan.school_id!r} (schools[].guards)",
        )
    return verdict


def check_scan_time(settings: Settings, at: datetime, now: datetime) -> None:
    """A scan time from a phone or a wand: late is fine (it counts at its time) within
    `patrol.max_upload_age_days`; in the future beyond the allowed clock skew is an error."""
    ahead = at - now
    if ahead > timedelta(seconds=settings.gateway.max_clock_skew_s):
        raise PayloadRejected("bad_timestamp", f"the scan time is {ahead} in the future")
    days = settings.patrol.max_upload_age_days
    if now - at > timedelta(days=days):
        raise PayloadRejected(
            "bad_timestamp", f"the scan time is older than {days} days (patrol.max_upload_age_days)"
        )
