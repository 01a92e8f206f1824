"""What the police outbox and the escalation write about deliveries: each attempt (its
status and the endpoint's answer), the acknowledgement that settles the alarm, and the
escalation with its deliveries to secondary endpoints. Statements built once, as in
`writes` (the acknowledgement is recorded while the next press may be waiting)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Update, bindparam, func, select, update
from sqlalchemy.engine import Connection

from gateway.audit.digest import EntryAction
from gateway.audit.journal import journal_rows
from gateway.storage.models import PoliceDelivery
from gateway.storage.writes import ALARMS, DELIVERIES, button_lane, insert_deliveries

RESPONSE_KEEP = 500  # characters of the endpoint's answer kept for the record


@cache
def _settle_alarm() -> Update:
    alarm_pk = select(DELIVERIES.c.alarm_pk).where(DELIVERIES.c.id == bindparam("delivery_id"))
    return (
        update(ALARMS)
        .where(ALARMS.c.id == alarm_pk.scalar_subquery(), ALARMS.c.acknowledged_at.is_(None))
        .values(acknowledged_at=bindparam("at"))
        .returning(*ALARMS.c)
    )


def record_acknowledged(
    connection: Connection,
    delivery_id: int,
    *,
    at: datetime,
    latency_s: float,
    status: int | None,
    response: str,
) -> None:
    _record_attempt(
        connection,
        delivery_id,
        at=at,
        status=status,
        response=response,
        outcome={"acknowledged_at": at, "latency_s": latency_s},
    )
    # The alarm is settled at its first acknowledgement by any endpoint (no escalation).
    settled = connection.execute(_settle_alarm(), {"delivery_id": delivery_id, "at": at}).all()
    journal_rows(connection, ALARMS, settled, action=EntryAction.UPDATE)


def escalate_alarm(
    connection: Connection, alarm_pk: int, *, at: datetime, endpoint_ids: Sequence[str]
) -> list[PoliceDelivery]:
    """Mark an alarm escalated and add deliveries to the secondary endpoints, unless it was
    acknowledged or escalated meanwhile. Returns the new deliveries."""
    escalated = connection.execute(
        update(ALARMS)
        .where(
            ALARMS.c.id == alarm_pk,
            ALARMS.c.acknowledged_at.is_(None),
            ALARMS.c.escalated_at.is_(None),
        )
        .values(escalated_at=at)
        .returning(*ALARMS.c)
    ).all()
    journal_rows(connection, ALARMS, escalated, action=EntryAction.UPDATE)
    if len(escalated) != 1 or not endpoint_ids:
        return []
    lane = escalated[0]
    rows = [
        {
            "alarm_pk": alarm_pk,
            "endpoint_id": endpoint_id,
            "lane": button_lane(lane.school_id, lane.device_id),
            "attempts": 0,
            "created_at": at,
            "next_attempt_at": at,
        }
        for endpoint_id in endpoint_ids
    ]
    return insert_deliveries(connection, rows)


def record_failure(
    connection: Connection,
    delivery_id: int,
    *,
    at: datetime,
    next_attempt_at: datetime,
    status: int | None,
    response: str,
) -> None:
    _record_attempt(
        connection,
        delivery_id,
        at=at,
        status=status,
        response=response,
        outcome={"next_attempt_at": next_attempt_at},
    )


# Kept from the first acknowledgement: with several instances, one that lost its lease
# mid-send may record the same delivery's acknowledgement again (docs/scale-out.md).
FIRST_KEPT = frozenset({"acknowledged_at", "latency_s"})


@cache
def _attempt_update(outcome: tuple[str, ...]) -> Update:
    """The update recording an attempt and the `outcome` columns (bound by their names)."""
    c = DELIVERIES.c
    values: dict[str, Any] = {}
    for column in outcome:
        value: BindParameter[Any] = bindparam(f"outcome_{column}", type_=c[column].type)
        values[column] = func.coalesce(c[column], value) if column in FIRST_KEPT else value
    return (
        update(DELIVERIES)
        .where(c.id == bindparam("delivery_id"))
        .values(
            attempts=c.attempts + 1,
            last_attempt_at=bindparam("at"),
            last_status=bindparam("status"),
            last_response=bindparam("response"),
            **values,
        )
        .returning(*DELIVERIES.c)
    )


def _record_attempt(
    connection: Connection,
    delivery_id: int,
    *,
    at: datetime,
    status: int | None,
    response: str,
    outcome: dict[str, Any],
) -> None:
    parameters = {
        "delivery_id": delivery_id,
        "at": at,
        "status": status,
        "response": response[:RESPONSE_KEEP],
        **{f"outcome_{column}": value for column, value in outcome.items()},
    }
    attempted = connection.execute(_attempt_update(tuple(sorted(outcome))), parameters).all()
    journal_rows(connection, DELIVERIES, attempted, action=EntryAction.UPDATE)
