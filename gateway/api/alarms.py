"""`GET /api/v1/alarms`: alarms, whether the police endpoints acknowledged them and where the
police are with them; `POST /api/v1/alarms/{alarm_id}/actions`: a police officer moves an
alarm on (acknowledged, dispatched, on scene, closed)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, ConfigDict, Field

from gateway.api.deps import Context, DbSession, require_roles, unprocessable, visible_schools
from gateway.api.error_responses import CONFLICT, NOT_FOUND
from gateway.api.free_text import FreeText
from gateway.api.request_model import RequestModel
from gateway.api.schemas import AlarmOut
from gateway.auth.tokens import Principal
from gateway.domain import AlarmKind, AlarmStage, Role
from gateway.errors import NotFound
from gateway.storage.alarm_actions import AlarmActions, StageRefused
from gateway.storage.alarm_queries import list_alarms, list_alarms_by_id

router = APIRouter(prefix="/alarms", tags=["alarms"])

# Guards are let in, then held to their own school by `visible_schools`.
AlarmReader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]


@router.get("", response_model=list[AlarmOut])
async def get_alarms(
    principal: AlarmReader,
    context: Context,
    session: DbSession,
    school: Annotated[
        str | None, Query(description="School id (default: every school you may see)")
    ] = None,
    # AwareDatetime: a time without an offset is ambiguous, so it is a 422, not a guess.
    since: Annotated[
        AwareDatetime | None,
        Query(
            description="Received at or after, RFC 3339 with offset, e.g. 2025-03-01T00:00:00+08:00"
        ),
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Received before, RFC 3339 with offset")
    ] = None,
    kind: Annotated[
        Literal["emergency", "test"] | None, Query(description="emergency or test")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many, newest first")
    ] = 100,
) -> list[AlarmOut]:
    settings = context.settings
    if since is not None and until is not None and since >= until:
        raise unprocessable(("query", "until"), "until must be later than since")
    school_ids = visible_schools(principal, settings, school)
    views = await list_alarms(
        session,
        school_ids=school_ids,
        since=since,
        until=until,
        kind=AlarmKind(kind) if kind else None,
        limit=limit,
    )
    zone = settings.gateway.zone
    return [AlarmOut.of(view, zone) for view in views]


PoliceOfficer = Annotated[Principal, Depends(require_roles(Role.POLICE))]


class AlarmActionIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    stage: AlarmStage = Field(description="acknowledged, dispatched, on_scene or closed")
    note: FreeText | None = Field(None, max_length=1000, description="e.g. the unit dispatched")


@router.post(
    "/{alarm_id}/actions",
    response_model=AlarmOut,
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
)
async def act_on_alarm(
    alarm_id: str,
    body: AlarmActionIn,
    principal: PoliceOfficer,
    context: Context,
    session: DbSession,
) -> AlarmOut:
    """Move an alarm forward. Steps may be skipped (a false alarm is closed at once), never
    taken back; a closed alarm stays closed (409). A restore from the button never closes
    an alarm: only this does."""
    # An alarm of a school outside the officer's scope is not found, like one that is not
    # there: its id must not tell him it exists.
    school_ids = visible_schools(principal, context.settings, None)
    try:
        alarm = await AlarmActions(session).record(
            alarm_id,
            body.stage,
            username=principal.username,
            role=principal.role,
            at=datetime.now(UTC),
            note=body.note,
            school_ids=school_ids,
        )
        await session.commit()
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(exc)) from exc
    except StageRefused as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if context.bus.listened:
        context.bus.publish(
            "alarm_action",
            {
                "alarm_id": alarm_id,
                # The live feed sends it only to those who may see the school.
                "school_id": alarm.school_id,
                "stage": body.stage.value,
                "by": principal.username,
            },
        )
    views = await list_alarms_by_id(session, [alarm_id])
    return AlarmOut.of(views[0], context.settings.gateway.zone)
