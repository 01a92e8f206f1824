"""A guard's check-in and check-out at a gate post: a staffing report from the source `api`."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.errors import NotFound, PayloadRejected
from gateway.ingest.pipeline import IngestPipeline
from gateway.storage.writes import insert_events

# A check-in uploaded late still counts at its time, within reason: older is a mistake.
MAX_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class CheckResult:
    event: DeviceEvent
    stored: bool  # False: the same client id was already on record


def check_message_id(guard_id: str, client_id: str | None) -> str:
    """The stored id of a check: the guard's and the client's, so guards never collide."""
    return f"api-{guard_id}-{client_id or uuid.uuid4().hex}"[:128]


def check_event(
    context: GatewayContext,
    *,
    school_id: str,
    gate_id: str,
    staffed: bool,
    guard_id: str,
    client_id: str | None,
    at: datetime | None,
    now: datetime,
) -> DeviceEvent:
    school = context.settings.school(school_id)
    if school is None or school.gate(gate_id) is None:
        raise NotFound(f"no gate {gate_id!r} at school {school_id!r}")
    occurred = now if at is None else at
    skew = context.settings.gateway.max_clock_skew_s
    if occurred - now > timedelta(seconds=skew):
        raise PayloadRejected("bad_timestamp", f"at is {occurred - now} in the future")
    if now - occurred > MAX_AGE:
        raise PayloadRejected("bad_timestamp", f"at is older than {MAX_AGE.days} days")
    message_id = check_message_id(guard_id, client_id)
    kind = EventKind.GUARD_ON if staffed else EventKind.GUARD_OFF
    return DeviceEvent(
        device=DeviceRef(school_id, DeviceKind.GATE, gate_id),
        kind=kind,
        message_id=message_id,
        occurred_at=occurred,
        received_at=now,
        transport=Transport.API,
        topic=f"api://gates/{school_id}/{gate_id}",
        raw_payload=json.dumps(
            {"event": kind.value, "guard": guard_id, "id": client_id, "ts": occurred.isoformat()},
            separators=(",", ":"),
        ),
        guard_id=guard_id,
    )


async def record_check(
    context: GatewayContext, pipeline: IngestPipeline | None, event: DeviceEvent
) -> CheckResult:
    """Through the runtime's pipeline when it runs (the live watch hears of it), else straight
    to the database (an API-only process)."""
    if pipeline is not None:
        new = await pipeline.submit([event])
        return CheckResult(event, stored=bool(new))
    ids = await context.writer.run(lambda connection: insert_events(connection, [event]))
    return CheckResult(event, stored=bool(ids))
