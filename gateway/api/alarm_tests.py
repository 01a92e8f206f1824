"""Monthly alarm tests (spec 1, 5): a test announced in advance (报备) by the police or the
education bureau, the testers' names, and the buttons still to be tested this month.

A notice opens a window: the button's first press in it is the test, forwarded to the police
as kind `test` with the notice, so the centre does not dispatch."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status
from sqlalchemy import select

from gateway.alarmtests.queries import judge_month
from gateway.api.alarm_test_schemas import AlarmTestMonthOut, NoticeIn, NoticeOut, TestersIn
from gateway.api.deps import (
    Context,
    DbSession,
    SchoolFilter,
    may_see,
    require_roles,
    unprocessable,
    visible_schools,
)
from gateway.api.error_responses import CONFLICT, NOT_FOUND
from gateway.auth.tokens import Principal
from gateway.domain import AlarmKind, Role
from gateway.storage.models import Alarm, TestNotice

router = APIRouter(prefix="/alarm-tests", tags=["alarm tests"])

Tester = Annotated[Principal, Depends(require_roles(Role.POLICE, Role.INSPECTOR))]
Reader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]
# A notice may open a little in the past (filed as the test begins) or days ahead.
MAX_PAST = timedelta(minutes=10)
MAX_AHEAD = timedelta(days=31)


@router.post("/notices", response_model=NoticeOut, status_code=201)
async def open_notice(
    principal: Tester, context: Context, session: DbSession, body: NoticeIn
) -> NoticeOut:
    """Announce a test of one button: its first press within the window is the test."""
    settings = context.settings
    school = settings.school(body.school)
    if school is None:
        known = ", ".join(s.id for s in settings.schools)
        raise unprocessable(("body", "school"), f"no school {body.school!r} (known: {known})")
    if school.button(body.button) is None:
        known = ", ".join(b.id for b in school.alarm_buttons)
        raise unprocessable(
            ("body", "button"), f"{school.id} has no alarm button {body.button!r} (known: {known})"
        )
    visible_schools(principal, settings, school.id)  # 403 outside the tester's scope
    now = datetime.now(UTC)
    start = now if body.starts_at is None else body.starts_at.astimezone(UTC)
    if start < now - MAX_PAST or start > now + MAX_AHEAD:
        raise unprocessable(
            ("body", "starts_at"), "the window must start between 10 minutes ago and 31 days ahead"
        )
    notice = TestNotice(
        notice_id=f"tn-{uuid.uuid4().hex[:20]}",
        school_id=school.id,
        button_id=body.button,
        opened_by=principal.username,
        opened_at=now,
        window_start=start,
        window_end=start + timedelta(minutes=body.window_minutes),
        police_officer=body.police_officer,
        bureau_staff=body.bureau_staff,
        note=body.note,
    )
    session.add(notice)
    await session.commit()
    return NoticeOut.of(notice, settings.gateway.zone, now)


@router.get("/notices", response_model=list[NoticeOut])
async def list_notices(
    principal: Reader,
    context: Context,
    session: DbSession,
    school: SchoolFilter = None,
    since: Annotated[
        datetime | None, Query(description="Windows ending after this (default: 31 days ago)")
    ] = None,
) -> list[NoticeOut]:
    """Notices, newest first, with their state."""
    schools = visible_schools(principal, context.settings, school)
    now = datetime.now(UTC)
    if since is not None and since.tzinfo is None:
        raise unprocessable(("query", "since"), "give the time with its offset, e.g. +08:00")
    query = select(TestNotice).where(TestNotice.window_end >= (since or now - MAX_AHEAD))
    if schools is not None:
        query = query.where(TestNotice.school_id.in_(schools))
    rows = await session.scalars(query.order_by(TestNotice.window_start.desc()).limit(1000))
    return [NoticeOut.of(n, context.settings.gateway.zone, now) for n in rows]


@router.post(
    "/notices/{notice_id}/cancel", response_model=NoticeOut, responses={**NOT_FOUND, **CONFLICT}
)
async def cancel_notice(
    principal: Tester, context: Context, session: DbSession, notice_id: str
) -> NoticeOut:
    """Withdraw a notice no press has answered yet: a press is an emergency again."""
    notice = await session.scalar(select(TestNotice).where(TestNotice.notice_id == notice_id))
    if notice is None or not may_see(principal, context.settings, notice.school_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no notice {notice_id!r}")
    if notice.alarm_pk is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail="the test has happened: its notice stays on record"
        )
    now = datetime.now(UTC)
    if notice.cancelled_at is None:
        notice.cancelled_at = now
        await session.commit()
    return NoticeOut.of(notice, context.settings.gateway.zone, now)


@router.put("/{alarm_id}/testers", response_model=NoticeOut, responses={**NOT_FOUND, **CONFLICT})
async def record_testers(
    principal: Tester, context: Context, session: DbSession, alarm_id: str, body: TestersIn
) -> NoticeOut:
    """Who carried out a test (民警, 教育部门): for a test from the button itself, or to correct
    the names of an announced one."""
    alarm = await session.scalar(select(Alarm).where(Alarm.alarm_id == alarm_id))
    if alarm is None or not may_see(principal, context.settings, alarm.school_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no alarm {alarm_id!r}")
    if alarm.kind != AlarmKind.TEST.value:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"alarm {alarm_id} is {alarm.kind}, not a test"
        )
    notice = await session.scalar(select(TestNotice).where(TestNotice.alarm_pk == alarm.id))
    now = datetime.now(UTC)
    if notice is None:
        # A test from the button without notice: the record of who did it, after the fact.
        notice = TestNotice(
            notice_id=f"tn-{uuid.uuid4().hex[:20]}",
            school_id=alarm.school_id,
            button_id=alarm.device_id,
            opened_by=principal.username,
            opened_at=now,
            window_start=alarm.occurred_at,
            window_end=alarm.occurred_at,
            alarm_pk=alarm.id,
        )
        session.add(notice)
    notice.police_officer = body.police_officer
    notice.bureau_staff = body.bureau_staff
    notice.note = body.note
    await session.commit()
    return NoticeOut.of(notice, context.settings.gateway.zone, now)


@router.get("/due", response_model=list[AlarmTestMonthOut])
async def buttons_due(
    principal: Reader, context: Context, session: DbSession, school: SchoolFilter = None
) -> list[AlarmTestMonthOut]:
    """Buttons not yet tested enough this month (due soon first), then last month's overdue."""
    settings = context.settings
    zone = settings.gateway.zone
    schools = visible_schools(principal, settings, school)
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    this_month = date(today.year, today.month, 1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    current = await judge_month(session, settings, month=this_month, now=now, school_ids=schools)
    previous = await judge_month(session, settings, month=last_month, now=now, school_ids=schools)
    pending = sorted(
        (b for b in current if not b.month.compliant), key=lambda b: not b.month.due_soon
    )
    overdue = [b for b in previous if b.month.overdue]
    return [AlarmTestMonthOut.of(b, zone) for b in [*pending, *overdue]]
