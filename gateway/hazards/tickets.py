"""Hidden-danger tickets: every violation the gateway finds opens one (发现), and people move it
through assessed (研判), assigned (交办, with an assignee and a deadline), controlled (管控)
and fed back (反馈). One open ticket per school, kind and subject: a violation that comes
again while its ticket is open is counted on it, not ticketed twice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection

from gateway.alerts import Alert, AlertKind
from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.storage.models import HazardTicket

TICKETS = cast(Table, HazardTicket.__table__)


class HazardStage(StrEnum):
    FOUND = "found"  # 发现
    ASSESSED = "assessed"  # 研判
    ASSIGNED = "assigned"  # 交办
    CONTROLLED = "controlled"  # 管控
    FED_BACK = "fed_back"  # 反馈: the loop is closed


STAGE_ORDER: tuple[HazardStage, ...] = tuple(HazardStage)

# The alerts that are violations of the campaign's rules (a clearing alert is not).
VIOLATIONS: frozenset[AlertKind] = frozenset(
    {
        AlertKind.GATE_UNSTAFFED,
        AlertKind.PATROL_OVERDUE,
        AlertKind.ALARM_TEST_DUE,
        AlertKind.DEVICE_OFFLINE,
        AlertKind.POLICE_LINK_DOWN,
    }
)


def next_stage(stage: HazardStage) -> HazardStage | None:
    index = STAGE_ORDER.index(stage)
    return STAGE_ORDER[index + 1] if index + 1 < len(STAGE_ORDER) else None


def new_ticket_id(at: datetime) -> str:
    return f"HD-{at:%Y%m%d}-{uuid.uuid4().hex[:8]}"


def open_tickets(connection: Connection, alerts: Sequence[Alert]) -> int:
    """Open a ticket for each violation without an open one; count repeats on the open one.
    Runs in the transaction that stores the alerts. Returns the number opened."""
    c = TICKETS.c
    opened = 0
    for alert in alerts:
        if alert.kind not in VIOLATIONS:
            continue
        if connection.dialect.name == "postgresql":
            # Writers run concurrently there: one at a time per subject, or two could each
            # find no open ticket and open one each. (SQLite has one writer.)
            subject = (
                f"{alert.school_id}/{alert.kind.value}/{alert.subject_kind}/{alert.subject_id}"
            )
            connection.execute(select(func.pg_advisory_xact_lock(func.hashtext(subject))))
        existing = connection.execute(
            select(c.id, c.occurrences).where(
                c.school_id == alert.school_id,
                c.category == alert.kind.value,
                c.subject_kind == alert.subject_kind,
                c.subject_id == alert.subject_id,
                c.stage != HazardStage.FED_BACK.value,
            )
        ).first()
        if existing is not None:
            repeated = connection.execute(
                update(TICKETS)
                .where(c.id == existing.id)
                .values(occurrences=existing.occurrences + 1, last_seen_at=alert.raised_at)
                .returning(*TICKETS.c)
            ).all()
            journal_rows(connection, TICKETS, repeated, action=EntryAction.UPDATE)
            continue
        created = connection.execute(
            insert(TICKETS)
            .returning(*TICKETS.c)
            .values(
                ticket_id=new_ticket_id(alert.raised_at),
                school_id=alert.school_id,
                category=alert.kind.value,
                subject_kind=alert.subject_kind,
                subject_id=alert.subject_id,
                summary=alert.message[:500],
                stage=HazardStage.FOUND.value,
                opened_at=alert.raised_at,
                last_seen_at=alert.raised_at,
                occurrences=1,
                updated_at=alert.raised_at,
            )
        ).all()
        journal_rows(connection, TICKETS, created, action=EntryAction.INSERT)
        opened += 1
    return opened
