"""What the police console reads: the live feed (server-sent events), an alarm's picture and
the schools' addresses and contacts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel
from sqlalchemy import select

from gateway.api.deps import (
    Context,
    DbSession,
    principal_for_session,
    principal_for_token,
    require_roles,
    unauthorized,
    visible_schools,
)
from gateway.auth.tokens import Principal
from gateway.auth.web_sessions import SESSION_COOKIE
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.storage.models import Alarm, Snapshot

router = APIRouter(tags=["live"])

# The feed's topics (see the publishers: ingest, outbox, escalation, snapshots, actions).
LIVE_TOPICS = frozenset({"alarm", "alarm_action", "escalation", "snapshot", "delivery"})
KEEPALIVE_S = 15.0
# How often an open feed checks that its account still may read it (revoked, disabled,
# removed, changed): a stream lasts hours, and is ended within this long of a revocation.
RECHECK_S = 15.0
Reader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]


class ContactOut(BaseModel):
    name: str
    role: str | None
    phone: str


class SchoolOut(BaseModel):
    id: str
    name: str
    address: str | None
    contacts: list[ContactOut]


@router.get("/schools", response_model=list[SchoolOut])
async def get_schools(principal: Reader, context: Context) -> list[SchoolOut]:
    """The schools you may see, with the address and the people to call."""
    schools = visible_schools(principal, context.settings, None)
    return [
        SchoolOut(
            id=s.id,
            name=s.name,
            address=s.address,
            contacts=[ContactOut(name=c.name, role=c.role, phone=c.phone) for c in s.contacts],
        )
        for s in context.settings.schools
        if schools is None or s.id in schools
    ]


@router.get(
    "/alarms/{alarm_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "No picture (yet)"}},
)
async def get_snapshot(
    alarm_id: str, principal: Reader, context: Context, session: DbSession
) -> Response:
    """The camera's picture taken at the press (404 while it has not come, or if none)."""
    schools = visible_schools(principal, context.settings, None)
    query = (
        select(Snapshot)
        .join(Alarm, Alarm.event_id == Snapshot.event_id)
        .where(Alarm.alarm_id == alarm_id)
    )
    if schools is not None:
        query = query.where(Alarm.school_id.in_(schools))
    picture = await session.scalar(query)
    if picture is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no picture for alarm {alarm_id!r}")
    return Response(
        picture.data, media_type=picture.content_type, headers={"Cache-Control": "private"}
    )


@dataclass(frozen=True, slots=True)
class FeedAccess:
    """Who opened the feed, and with what: checked again while the stream lasts."""

    principal: Principal
    session_token: str | None
    access_token: str | None

    async def still_allowed(self, context: GatewayContext) -> bool:
        try:
            async with context.sessions() as session:
                if self.access_token is None and self.session_token is not None:
                    await principal_for_session(context, session, self.session_token)
                else:
                    await principal_for_token(context, session, self.access_token)
        except HTTPException:
            return False
        return True


async def feed_reader(
    request: Request,
    context: Context,
    session: DbSession,
    access_token: Annotated[
        str | None,
        Query(
            description="A bearer token, for clients other than the pages (EventSource "
            "cannot send headers); the pages' session cookie does instead"
        ),
    ] = None,
) -> FeedAccess:
    """Checked before the stream starts: once it has, a refusal can no longer be sent. No
    token is a 401 like anywhere else (spec 5), not a 422 for a missing parameter."""
    session_token = request.cookies.get(SESSION_COOKIE)
    if access_token is None and session_token:
        principal = await principal_for_session(context, session, session_token)
    elif access_token is None:
        raise unauthorized(
            "not signed in: sign in on the pages, or add ?access_token=<a token from "
            "/api/v1/auth/token>"
        )
    else:
        principal = await principal_for_token(context, session, access_token)
    if not principal.has_role(Role.POLICE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="the live feed is for the police")
    await session.close()  # the stream may last hours: it must not hold a connection
    return FeedAccess(principal, session_token, access_token)


@router.get("/live", response_class=EventSourceResponse)
async def live(
    context: Context, access: Annotated[FeedAccess, Depends(feed_reader)]
) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events for the police console: `alarm` (a new press or test),
    `alarm_action`, `escalation`, `snapshot`, `delivery`; a comment every 15 s keeps proxies
    from closing the stream. Police and admin only. Every 15 s the feed checks that its
    token or session is still good: once the account is revoked, disabled, removed or
    changed, it sends `signed_out` and ends."""
    principal = access.principal
    schools = visible_schools(principal, context.settings, None)
    async with context.bus.subscribe(maxsize=500) as subscription:
        yield ServerSentEvent(event="ready", data={"user": principal.username})
        checked = time.monotonic()
        while True:
            if time.monotonic() - checked >= RECHECK_S:
                if not await access.still_allowed(context):
                    yield ServerSentEvent(event="signed_out", data={"user": principal.username})
                    return
                checked = time.monotonic()
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    notice = await subscription.get()
            except TimeoutError:
                yield ServerSentEvent(comment="keep-alive")
                continue
            if notice.topic not in LIVE_TOPICS:
                continue
            # Every publisher names the school; a notice that does not is not sent to a scoped
            # feed (it fails closed).
            if schools is not None and notice.data.get("school_id") not in schools:
                continue
            yield ServerSentEvent(event=notice.topic, data=notice.data)
