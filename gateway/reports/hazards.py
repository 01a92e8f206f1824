"""Hidden dangers in a report: tickets opened and closed (fed back) in the period, and those
open at its end, of which how many were past their deadline then. Judged from each ticket's
steps, so that a report made later says what stood at the period's end."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.hazards.tickets import HazardStage
from gateway.storage.models import HazardStep, HazardTicket

__all__ = [
    "HazardFigures",
    "TicketHistory",
    "TicketStep",
    "hazard_figures",
    "ticket_histories",
]


@dataclass(frozen=True, slots=True)
class TicketStep:
    stage: HazardStage
    at: datetime
    deadline: datetime | None  # set by an `assigned` step


@dataclass(frozen=True, slots=True)
class TicketHistory:
    school_id: str
    opened_at: datetime
    steps: tuple[TicketStep, ...]  # in the order taken

    def fed_back_at(self, before: datetime) -> datetime | None:
        return next(
            (s.at for s in self.steps if s.stage is HazardStage.FED_BACK and s.at < before),
            None,
        )

    def deadline_at(self, moment: datetime) -> datetime | None:
        """The deadline in force at `moment`: the latest one set before it."""
        deadlines = [s.deadline for s in self.steps if s.at < moment and s.deadline is not None]
        return deadlines[-1] if deadlines else None


@dataclass(frozen=True, slots=True)
class HazardFigures:
    opened: int  # opened in [start, end)
    closed: int  # fed back in [start, end)
    open: int  # opened before end and not fed back by then
    overdue: int  # of those open, past the deadline in force at end


def hazard_figures(
    tickets: Iterable[TicketHistory], *, start: datetime, end: datetime
) -> HazardFigures:
    opened = closed = still_open = overdue = 0
    for ticket in tickets:
        if ticket.opened_at >= end:
            continue
        opened += ticket.opened_at >= start
        fed_back = ticket.fed_back_at(end)
        if fed_back is not None:
            closed += fed_back >= start
            continue
        still_open += 1
        deadline = ticket.deadline_at(end)
        overdue += deadline is not None and deadline < end
    return HazardFigures(opened, closed, still_open, overdue)


async def ticket_histories(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    school_ids: Sequence[str] | None = None,
) -> dict[str, list[TicketHistory]]:
    """Per school, the tickets that matter to [start, end): opened before its end and not
    fed back before its start, each with its steps taken before the end."""
    t, s = HazardTicket, HazardStep
    closed_before = exists().where(
        s.ticket_pk == t.id, s.stage == HazardStage.FED_BACK.value, s.at < start
    )
    relevant = select(t.id).where(t.opened_at < end, ~closed_before)
    if school_ids is not None:
        relevant = relevant.where(t.school_id.in_(school_ids))
    tickets = (
        await session.execute(
            select(t.id, t.school_id, t.opened_at).where(t.id.in_(relevant.scalar_subquery()))
        )
    ).all()
    steps: dict[int, list[TicketStep]] = defaultdict(list)
    for row in await session.execute(
        select(s.ticket_pk, s.stage, s.at, s.deadline)
        .where(s.ticket_pk.in_(relevant.scalar_subquery()), s.at < end)
        .order_by(s.ticket_pk, s.id)
    ):
        steps[row.ticket_pk].append(TicketStep(HazardStage(row.stage), row.at, row.deadline))
    histories: dict[str, list[TicketHistory]] = defaultdict(list)
    for ticket_pk, school_id, opened_at in tickets:
        histories[school_id].append(
            TicketHistory(school_id, opened_at, tuple(steps.get(ticket_pk, ())))
        )
    return dict(histories)
