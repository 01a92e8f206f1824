"""Gate posts: the live state of every post (`GET /api/v1/gates`) and the guard's check-in and
check-out (`POST /api/v1/gates/{school}/{gate}/check-in|check-out`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request, status

from gateway.alerts import AlertOutbox
from gateway.api.deps import (
    Context,
    DbSession,
    describe_scope,
    may_see,
    require_roles,
    unprocessable,
    visible_schools,
)
from gateway.api.error_responses import NOT_FOUND
from gateway.api.staffing_schemas import CheckIn, CheckInOut, GateStateOut
from gateway.auth.tokens import Principal
from gateway.context import GatewayContext
from gateway.domain import EventKind, Role
from gateway.errors import NotFound, PayloadRejected
from gateway.staffing.checkin import MAX_AGE as CHECK_MAX_AGE
from gateway.staffing.checkin import check_event, check_message_id, record_check
from gateway.staffing.queries import first_report_time
from gateway.staffing.watch import GateWatch

if TYPE_CHECKING:  # the runtime (and its drivers) is only there when the app runs one
    from gateway.runtime import GatewayRuntime

router = APIRouter(prefix="/gates", tags=["gates"])

GateReader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]
Guard = Annotated[Principal, Depends(require_roles(Role.GUARD))]


def _runtime(request: Request) -> GatewayRuntime | None:
    runtime: GatewayRuntime | None = getattr(request.app.state, "runtime", None)
    return runtime


async def _watch(request: Request, context: GatewayContext, session: DbSession) -> GateWatch:
    runtime = _runtime(request)
    if runtime is not None:
        return runtime.gate_watch
    # An API-only process: the same view, read from the record.
    alerts = AlertOutbox(
        context.writer,
        context.sessions,
        topic_prefix=context.settings.mqtt.topic_prefix,
        zone=context.settings.gateway.zone,
        metrics=context.metrics,
        health=context.health,
    )
    watch = GateWatch(context.settings, alerts, context.metrics, context.health)
    await watch.load(session)
    return watch


@router.get("", response_model=list[GateStateOut])
async def get_gates(
    principal: GateReader,
    request: Request,
    context: Context,
    session: DbSession,
    school: Annotated[
        str | None, Query(description="School id (default: every school you may see)")
    ] = None,
) -> list[GateStateOut]:
    schools = visible_schools(principal, context.settings, school)
    watch = await _watch(request, context, session)
    zone = context.settings.gateway.zone
    return [
        GateStateOut.of(live, zone)
        for live in watch.view(datetime.now(UTC))
        if schools is None or live.school_id in schools
    ]


async def _check(
    request: Request,
    context: GatewayContext,
    principal: Principal,
    school_id: str,
    gate_id: str,
    body: CheckIn | None,
    *,
    staffed: bool,
) -> CheckInOut:
    if not may_see(principal, context.settings, school_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{describe_scope(principal)} may not check in at school {school_id!r}",
        )
    body = body or CheckIn()
    at = body.at
    if at is None and body.id is not None:
        # A retry without `at` (the phone did not get the answer) is the same check-in.
        kind = EventKind.GUARD_ON if staffed else EventKind.GUARD_OFF
        async with context.sessions() as session:
            at = await first_report_time(
                session,
                school_id=school_id,
                gate_id=gate_id,
                message_id=check_message_id(principal.username, body.id),
                kind=kind,
                since=datetime.now(UTC) - CHECK_MAX_AGE,
            )
    try:
        event = check_event(
            context,
            school_id=school_id,
            gate_id=gate_id,
            staffed=staffed,
            guard_id=principal.username,
            client_id=body.id,
            at=at,
            now=datetime.now(UTC),
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except PayloadRejected as exc:
        raise unprocessable(("body", "at"), exc.detail) from exc
    runtime = _runtime(request)
    result = await record_check(context, runtime.devices if runtime else None, event)
    return CheckInOut(
        school_id=school_id,
        gate_id=gate_id,
        staffed=staffed,
        guard_id=principal.username,
        at=event.occurred_at.astimezone(context.settings.gateway.zone),
        id=event.message_id,
        stored=result.stored,
    )


@router.post(
    "/{school_id}/{gate_id}/check-in",
    response_model=CheckInOut,
    status_code=201,
    responses=NOT_FOUND,
)
async def check_in(
    principal: Guard,
    request: Request,
    context: Context,
    school_id: str,
    gate_id: str,
    body: Annotated[CheckIn | None, Body()] = None,
) -> CheckInOut:
    """The guard is at the post (staffed from now, or from `at`)."""
    return await _check(request, context, principal, school_id, gate_id, body, staffed=True)


@router.post(
    "/{school_id}/{gate_id}/check-out",
    response_model=CheckInOut,
    status_code=201,
    responses=NOT_FOUND,
)
async def check_out(
    principal: Guard,
    request: Request,
    context: Context,
    school_id: str,
    gate_id: str,
    body: Annotated[CheckIn | None, Body()] = None,
) -> CheckInOut:
    """The guard leaves the post."""
    return await _check(request, context, principal, school_id, gate_id, body, staffed=False)
