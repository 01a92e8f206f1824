"""Patrols (spec 5): scans in from the guard's phone (a tag read by the camera, or a photo
decoded here), late batches from offline patrol wands (JSON or CSV), the guard's due list,
and the day's scans."""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, UploadFile, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from drivers.camera.qr import decode_qr_async
from gateway.api.deps import (
    Context,
    DbSession,
    LocalDay,
    SchoolFilter,
    local_day,
    require_roles,
    unprocessable,
    visible_schools,
)
from gateway.api.patrol_schemas import (
    DueOut,
    ScanIn,
    ScanOut,
    UploadIn,
    UploadOut,
    UploadRecord,
    UploadResultOut,
)
from gateway.auth.tokens import Principal
from gateway.compliance.gate_staffing import local_day_window
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.errors import PayloadRejected
from gateway.patrol.queries import judge_day, scans_between, standing
from gateway.patrol.reasons import ScanSource
from gateway.patrol.records import ScanOutcome, record_scans
from gateway.patrol.scans import IncomingScan, check_scan_time
from gateway.patrol.tokens import PREFIX

router = APIRouter(prefix="/patrols", tags=["patrols"])

Scanner = Annotated[Principal, Depends(require_roles(Role.GUARD))]
PatrolReader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]
MAX_PHOTO_BYTES = 15 * 1024 * 1024
MAX_CSV_BYTES = 5 * 1024 * 1024


async def record(context: GatewayContext, scans: list[IncomingScan]) -> list[ScanOutcome]:
    settings = context.settings
    outcomes = await context.writer.run(lambda c: record_scans(c, settings, scans))
    for outcome in outcomes:
        if outcome.new:
            verdict = "accepted" if outcome.verdict.accepted else str(outcome.verdict.reason)
            context.metrics.patrol_scans.labels(outcome.scan.source.value, verdict).inc()
            if context.bus.listened:
                context.bus.publish(
                    "patrol",
                    {
                        "school_id": outcome.scan.school_id,
                        "checkpoint_id": outcome.verdict.checkpoint_id,
                        "guard_id": outcome.scan.guard_id,
                        "accepted": outcome.verdict.accepted,
                        "reason": outcome.verdict.reason,
                    },
                )
    return outcomes


def _school_for(
    context: GatewayContext, principal: Principal, requested: str | None, tag: str
) -> str:
    """A guard scans for his own school; an admin for the one he names, or the tag's."""
    settings = context.settings
    if principal.role is not Role.ADMIN:
        if principal.school_id is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, detail="this account is not tied to a school"
            )
        if requested is not None and requested != principal.school_id:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"a guard of {principal.school_id!r} may not scan for {requested!r}",
            )
        return principal.school_id
    if requested is None:
        parts = tag.split(":")
        requested = parts[1] if len(parts) > 2 and parts[0] == PREFIX else None
    if requested is None or settings.school(requested) is None:
        raise unprocessable(("body", "school"), f"name a configured school (got {requested!r})")
    return requested


def _guard_for(principal: Principal, requested: str | None) -> str:
    if principal.role is Role.ADMIN:
        if requested is None:
            raise unprocessable(("body", "guard"), "an admin must name the guard who scanned")
        return requested
    if requested is not None and requested != principal.username:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="a guard records his own scans only")
    return principal.username


def _message_id(kind: str, guard: str, client_id: str | None) -> str:
    return f"{kind}-{guard}-{client_id or uuid.uuid4().hex}"[:128]


async def _single(
    context: GatewayContext,
    principal: Principal,
    *,
    tag: str,
    at: datetime | None,
    client_id: str | None,
    guard: str | None,
    school: str | None,
    source: ScanSource,
    location: tuple[str, ...],
) -> JSONResponse:
    now = datetime.now(UTC)
    school_id = _school_for(context, principal, school, tag)
    guard_id = _guard_for(principal, guard)
    scanned_at = now if at is None else at.astimezone(UTC)
    try:
        check_scan_time(context.settings, scanned_at, now)
    except PayloadRejected as exc:
        raise unprocessable((*location, "at"), exc.detail) from exc
    scan = IncomingScan(
        school_id=school_id,
        guard_id=guard_id,
        tag=tag,
        scanned_at=scanned_at,
        received_at=now,
        source=source,
        message_id=_message_id(source.value, guard_id, client_id),
        submitted_by=principal.username,
    )
    (outcome,) = await record(context, [scan])
    body = ScanOut.of_outcome(outcome, context.settings)
    if outcome.verdict.accepted and outcome.verdict.checkpoint_id is not None:
        # What the guard wants to know at once: did it count, and how many today.
        async with context.sessions() as session:
            day = await standing(
                session,
                context.settings,
                school_id=school_id,
                checkpoint_id=outcome.verdict.checkpoint_id,
                at=outcome.scan.scanned_at,
                now=now,
            )
        if day is not None:
            body.counted = outcome.record_id in day.counted_ids
            body.patrols = day.patrols
            body.required = day.required
    return JSONResponse(
        body.model_dump(mode="json"),
        status_code=status.HTTP_201_CREATED if outcome.new else status.HTTP_200_OK,
    )


SCAN_RESPONSES: dict[int | str, dict[str, object]] = {
    201: {"model": ScanOut, "description": "Recorded: counted, or kept as a suspicious scan"},
    200: {"model": ScanOut, "description": "This scan id was already on record"},
}


@router.post("/scans", status_code=201, response_model=ScanOut, responses=SCAN_RESPONSES)
async def post_scan(principal: Scanner, context: Context, body: ScanIn) -> JSONResponse:
    """A scan from the guard's phone: the text of the checkpoint's QR code or NFC tag. A
    forged, unknown or duplicate tag is kept as a suspicious scan, with the reason."""
    return await _single(
        context,
        principal,
        tag=body.tag.strip(),
        at=body.at,
        client_id=body.id,
        guard=body.guard,
        school=body.school,
        source=ScanSource.NFC if body.via == "nfc" else ScanSource.PHONE,
        location=("body",),
    )


@router.post("/scans/photo", status_code=201, response_model=ScanOut, responses=SCAN_RESPONSES)
async def post_scan_photo(
    principal: Scanner,
    context: Context,
    photo: Annotated[UploadFile, File(description="A JPEG or PNG photo of the checkpoint's QR")],
    at: Annotated[datetime | None, Form(description="When it was taken (default: now)")] = None,
    id: Annotated[str | None, Form(max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] = None,
    live: Annotated[bool, Form(description="A frame of the page's live camera")] = False,
    guard: Annotated[str | None, Form(max_length=64)] = None,
    school: Annotated[str | None, Form(max_length=64)] = None,
) -> JSONResponse:
    """A photo (or a frame of the phone's camera) of a checkpoint's QR code, decoded here.
    No readable code in it: 422 of type `no_qr_code`, nothing recorded; not an image:
    `bad_image`."""
    if at is not None and at.tzinfo is None:
        raise unprocessable(("body", "at"), "give the time with its offset, e.g. +08:00")
    data = await photo.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise unprocessable(("body", "photo"), f"the photo is over {MAX_PHOTO_BYTES} bytes")
    try:
        texts = await decode_qr_async(data)
    except PayloadRejected as exc:
        raise unprocessable(("body", "photo"), exc.detail, "bad_image") from exc
    tags = [t for t in texts if t.startswith(f"{PREFIX}:")] or texts
    if not tags:
        raise unprocessable(
            ("body", "photo"),
            "no QR code could be read in the photo: hold the phone closer",
            "no_qr_code",
        )
    return await _single(
        context,
        principal,
        tag=tags[0].strip(),
        at=at,
        client_id=id,
        guard=guard,
        school=school,
        source=ScanSource.PHONE if live else ScanSource.PHOTO,
        location=("body",),
    )


async def _upload(
    context: GatewayContext,
    principal: Principal,
    records: list[UploadRecord],
    *,
    school: str | None,
    device: str | None,
) -> UploadOut:
    now = datetime.now(UTC)
    school_id = _school_for(context, principal, school, records[0].tag)
    scans: list[tuple[int, IncomingScan]] = []
    results: dict[int, UploadResultOut] = {}
    for index, item in enumerate(records):
        at = item.at.astimezone(UTC)
        try:
            check_scan_time(context.settings, at, now)
        except PayloadRejected as exc:
            results[index] = UploadResultOut(
                index=index, accepted=False, reason="invalid", message=exc.detail, scan=None
            )
            continue
        # Without an id the record's content is its id: the same file uploaded twice is
        # recorded once.
        content = f"{device}|{item.guard}|{item.tag}|{at.isoformat()}".encode()
        client_id = item.id or hashlib.sha256(content).hexdigest()[:32]
        scans.append(
            (
                index,
                IncomingScan(
                    school_id=school_id,
                    guard_id=item.guard,
                    tag=item.tag.strip(),
                    scanned_at=at,
                    received_at=now,
                    source=ScanSource.UPLOAD,
                    message_id=f"upload-{client_id}"[:128],
                    submitted_by=principal.username,
                ),
            )
        )
    outcomes = await record(context, [scan for _, scan in scans]) if scans else []
    for (index, _), outcome in zip(scans, outcomes, strict=True):
        out = ScanOut.of_outcome(outcome, context.settings)
        results[index] = UploadResultOut(
            index=index,
            accepted=out.accepted,
            reason=None if out.reason is None else out.reason.value,
            message=out.message,
            scan=out,
        )
    ordered = [results[i] for i in range(len(records))]
    return UploadOut(
        received=len(records),
        accepted=sum(r.accepted for r in ordered),
        refused=sum(r.scan is not None and not r.accepted for r in ordered),
        invalid=sum(r.scan is None for r in ordered),
        already_recorded=sum(o.new is False for o in outcomes),
        results=ordered,
    )


@router.post("/uploads", response_model=UploadOut)
async def post_upload(
    principal: Scanner,
    context: Context,
    body: UploadIn,
    school: Annotated[
        str | None, Query(description="Admins: the school (default: the tags')")
    ] = None,
) -> UploadOut:
    """A batch of offline records from a patrol wand (or a phone that was offline): each
    counts at its scan time. Sending the same batch again records nothing twice."""
    return await _upload(context, principal, body.records, school=school, device=body.device)


@router.post("/uploads/csv", response_model=UploadOut)
async def post_upload_csv(
    principal: Scanner,
    context: Context,
    file: Annotated[UploadFile, File(description="UTF-8 CSV with a header: guard,tag,at[,id]")],
    device: Annotated[str | None, Form(max_length=64)] = None,
    school: Annotated[str | None, Form(max_length=64)] = None,
) -> UploadOut:
    """The same as `/uploads`, from the CSV file a wand's software exports."""
    data = await file.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        raise unprocessable(("body", "file"), f"the file is over {MAX_CSV_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise unprocessable(("body", "file"), "the file is not UTF-8 text") from exc
    try:
        records = _csv_records(text)
    except csv.Error as exc:  # a stray quote or carriage return: the file is not CSV
        raise unprocessable(("body", "file"), f"not a CSV file: {exc}") from exc
    if not records:
        raise unprocessable(("body", "file"), "the file holds no records")
    return await _upload(context, principal, records, school=school, device=device)


@router.get("/due", response_model=list[DueOut])
async def get_due(
    principal: PatrolReader,
    context: Context,
    session: DbSession,
    school: SchoolFilter = None,
) -> list[DueOut]:
    """Today's key checkpoints: patrols so far, the round open now or next, missed rounds."""
    schools = visible_schools(principal, context.settings, school)
    day, now = local_day(context, None)
    days = await judge_day(session, context.settings, day=day, now=now, school_ids=schools)
    return [DueOut.of(item, context.settings) for item in days]


@router.get("/scans", response_model=list[ScanOut])
async def get_scans(
    principal: PatrolReader,
    context: Context,
    session: DbSession,
    day: LocalDay = None,
    school: SchoolFilter = None,
    accepted: Annotated[bool | None, Query(description="false: the suspicious scans only")] = None,
) -> list[ScanOut]:
    """The scans of a local day, in time order, refused ones with their reason."""
    schools = visible_schools(principal, context.settings, school)
    day, _ = local_day(context, day)
    start, end = local_day_window(day, context.settings.gateway.zone)
    rows = await scans_between(session, start=start, end=end, school_ids=schools, accepted=accepted)
    return [ScanOut.of_row(row, context.settings) for row in rows]


def _csv_records(text: str) -> list[UploadRecord]:
    """The records of a wand's CSV export; a 422 naming the line for a bad one."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = set(reader.fieldnames or [])
    if not {"guard", "tag", "at"} <= header or not header <= {"guard", "tag", "at", "id"}:
        raise unprocessable(
            ("body", "file"), f"the header must be guard,tag,at[,id] (got {sorted(header)})"
        )
    records = []
    for line, row in enumerate(reader, start=2):
        values = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
        try:
            records.append(UploadRecord.model_validate(values))
        except ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise unprocessable(("body", "file"), f"line {line}: {problem}") from exc
        if len(records) > 5000:
            raise unprocessable(("body", "file"), "at most 5000 records per upload")
    return records
