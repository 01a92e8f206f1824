"""Hidden dangers (spec 1: 发现—研判—交办—管控—反馈): the tickets the gateway opened for
violations, and the people's steps that close them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

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
from gateway.api.free_text import FreeText
from gateway.api.request_model import RequestModel
from gateway.auth.tokens import Principal
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.hazards.tickets import HazardStage, next_stage
from gateway.storage.models import HazardStep, HazardTicket

router = APIRouter(prefix="/hazards", tags=["hidden dangers"])

Handler = Annotated[Principal, Depends(require_roles(Role.POLICE, Role.INSPECTOR))]
Reader = Annotated[Principal, Depends(require_roles(Role.GUARD, Role.POLICE, Role.INSPECTOR))]


class StepIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    stage: HazardStage = Field(
        description="The next stage: assessed, assigned, controlled, fed_back"
    )
    note: FreeText | None = Field(None, max_length=2000)
    assignee: str | None = Field(None, min_length=1, max_length=64, description="For assigned")
    deadline: AwareDatetime | None = Field(None, description="For assigned: fixed by when")


class StepOut(BaseModel):
    stage: HazardStage
    username: str
    at: datetime
    note: str | None
    assignee: str | None
    deadline: datetime | None


class TicketOut(BaseModel):
    ticket_id: str
    school_id: str
    category: str = Field(description="The violation: gate_unstaffed, patrol_overdue, ...")
    subject_kind: str
    subject_id: str
    summary: str
    stage: HazardStage
    opened_at: datetime
    last_seen_at: datetime
    occurrences: int = Field(description="Times the violation was found while the ticket was open")
    assignee: str | None
    deadline: datetime | None
    overdue: bool = Field(description="Past its deadline and not fed back")
    steps: list[StepOut]

    @classmethod
    def of(
        cls, ticket: HazardTicket, steps: list[HazardStep], context: GatewayContext, now: datetime
    ) -> TicketOut:
        zone = context.settings.gateway.zone
        return cls(
            ticket_id=ticket.ticket_id,
            school_id=ticket.school_id,
            category=ticket.category,
            subject_kind=ticket.subject_kind,
            subject_id=ticket.subject_id,
            summary=ticket.summary,
            stage=HazardStage(ticket.stage),
            opened_at=ticket.opened_at.astimezone(zone),
            last_seen_at=ticket.last_seen_at.astimezone(zone),
            occurrences=ticket.occurrences,
            assignee=ticket.assignee,
            deadline=None if ticket.deadline is None else ticket.deadline.astimezone(zone),
            overdue=ticket.deadline is not None
            and ticket.deadline < now
            and ticket.stage != HazardStage.FED_BACK.value,
            steps=[
                StepOut(
                    stage=HazardStage(s.stage),
                    username=s.username,
                    at=s.at.astimezone(zone),
                    note=s.note,
                    assignee=s.assignee,
                    deadline=None if s.deadline is None else s.deadline.astimezone(zone),
                )
                for s in steps
            ],
        )


async def _steps(session: DbSession, pks: list[int]) -> dict[int, list[HazardStep]]:
    result: dict[int, list[HazardStep]] = {pk: [] for pk in pks}
    if pks:
        rows = await session.scalars(
            select(HazardStep).where(HazardStep.ticket_pk.in_(pks)).order_by(HazardStep.id)
        )
        for step in rows:
            result[step.ticket_pk].append(step)
    return result


@router.get("", response_model=list[TicketOut])
async def list_tickets(
    principal: Reader,
    context: Context,
    session: DbSession,
    school: SchoolFilter = None,
    state: Annotated[
        Literal["open", "closed", "all"], Query(description="open: not fed back yet")
    ] = "open",
) -> list[TicketOut]:
    """Tickets, overdue ones first, then newest first."""
    schools = visible_schools(principal, context.settings, school)
    query = select(HazardTicket)
    if schools is not None:
        query = query.where(HazardTicket.school_id.in_(schools))
    if state == "open":
        query = query.where(HazardTicket.stage != HazardStage.FED_BACK.value)
    elif state == "closed":
        query = query.where(HazardTicket.stage == HazardStage.FED_BACK.value)
    tickets = list(
        (await session.scalars(query.order_by(HazardTicket.id.desc()).limit(2000))).all()
    )
    steps = await _steps(session, [t.id for t in tickets])
    now = datetime.now(UTC)
    out = [TicketOut.of(t, steps[t.id], context, now) for t in tickets]
    return sorted(out, key=lambda t: not t.overdue)


@router.post("/{ticket_id}/steps", response_model=TicketOut, responses={**NOT_FOUND, **CONFLICT})
async def add_step(
    principal: Handler, context: Context, session: DbSession, ticket_id: str, body: StepIn
) -> TicketOut:
    """Move a ticket to its next stage. `assigned` needs an assignee and a deadline."""
    ticket = await session.scalar(select(HazardTicket).where(HazardTicket.ticket_id == ticket_id))
    # A ticket of a school outside the caller's scope is not found, as if it were not there.
    if ticket is None or not may_see(principal, context.settings, ticket.school_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no ticket {ticket_id!r}")
    expected = next_stage(HazardStage(ticket.stage))
    if body.stage is not expected:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            detail=f"ticket {ticket_id} is {ticket.stage}: the next stage is "
            f"{expected or 'none (it is closed)'}, not {body.stage}",
        )
    now = datetime.now(UTC)
    if body.stage is HazardStage.ASSIGNED:
        if body.assignee is None or body.deadline is None:
            raise unprocessable(("body",), "assigned needs an assignee and a deadline")
        if body.deadline <= now:
            raise unprocessable(("body", "deadline"), "the deadline must be in the future")
        ticket.assignee = body.assignee
        ticket.deadline = body.deadline.astimezone(UTC)
    ticket.stage = body.stage.value
    ticket.updated_at = now
    session.add(
        HazardStep(
            ticket_pk=ticket.id,
            stage=body.stage.value,
            username=principal.username,
            at=now,
            note=body.note,
            assignee=body.assignee,
            deadline=None if body.deadline is None else body.deadline.astimezone(UTC),
        )
    )
    await session.commit()
    steps = await _steps(session, [ticket.id])
    return TicketOut.of(ticket, steps[ticket.id], context, now)
