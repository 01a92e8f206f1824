"""`GET /api/v1/alarms`: alarms and whether the police acknowledged them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from gateway.api.deps import Context, DbSession, require_roles, unprocessable, visible_schools
from gateway.api.schemas import AlarmOut
from gateway.auth.tokens import Principal
from gateway.domain import AlarmKind, Role
from gateway.storage.alarm_queries import list_alarms

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
    kind: Annotated[AlarmKind | None, Query(description="emergency or test")] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="At most this many, newest first")
    ] = 100,
) -> list[AlarmOut]:
    settings = context.settings
    if since is not None and until is not None and since >= until:
        raise unprocessable(("query", "until"), "until must be later than since")
    school_ids = visible_schools(principal, settings, school)
    views = await list_alarms(
        session, school_ids=school_ids, since=since, until=until, kind=kind, limit=limit
    )
    zone = settings.gateway.zone
    return [AlarmOut.of(view, zone) for view in views]
