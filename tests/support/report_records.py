"""Records of the past for the report tests, written through the gateway's own write paths
(the runtime's `writes`, `record_scans`, `open_tickets`, `store_alerts`, and ORM sessions
like the API's), at the times a test names: gate reports, alarms with their police
deliveries and acknowledgements, patrol scans, hidden-danger tickets with their steps, and
camera link alerts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Connection

from gateway.alerts import Alert, AlertKind, store_alerts
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Transport
from gateway.hazards.tickets import HazardStage, open_tickets
from gateway.patrol.reasons import ScanSource
from gateway.patrol.records import record_scans
from gateway.patrol.scans import IncomingScan
from gateway.patrol.tokens import sign_tag
from gateway.storage.delivery_outcomes import escalate_alarm, record_acknowledged
from gateway.storage.models import HazardStep, HazardTicket, UserAction
from gateway.storage.writes import create_alarm, event_key, insert_events


def device_event(
    school_id: str,
    kind: DeviceKind,
    device_id: str,
    event: EventKind,
    at: datetime,
    transport: Transport = Transport.MQTT,
) -> DeviceEvent:
    return DeviceEvent(
        device=DeviceRef(school_id, kind, device_id),
        kind=event,
        message_id=uuid.uuid4().hex,
        occurred_at=at,
        received_at=at,
        transport=transport,
        topic=f"campus/{school_id}/{kind}/{device_id}/event",
        raw_payload="{}",
    )


async def gate_reports(
    context: GatewayContext,
    school_id: str,
    gate_id: str,
    reports: Sequence[tuple[datetime, bool]],
    transport: Transport = Transport.MQTT,
) -> None:
    """guard_on (True) / guard_off (False) reports of a post."""
    events = [
        device_event(
            school_id,
            DeviceKind.GATE,
            gate_id,
            EventKind.GUARD_ON if staffed else EventKind.GUARD_OFF,
            at,
            transport,
        )
        for at, staffed in reports
    ]
    await context.writer.run(lambda connection: insert_events(connection, events))


async def alarm(
    context: GatewayContext,
    school_id: str,
    button_id: str,
    at: datetime,
    *,
    test: bool = False,
    ack_after_s: float | None = None,
    escalate_after_s: float | None = None,
) -> None:
    """A press (or the button's own test) stored with a delivery per primary endpoint; if
    `escalate_after_s`, escalated to the secondaries then; if `ack_after_s`, acknowledged
    then (by a secondary when it was escalated)."""
    settings = context.settings
    school = settings.school(school_id)
    assert school is not None
    button = school.button(button_id)
    assert button is not None
    event = device_event(
        school_id, DeviceKind.ALARM, button_id, EventKind.TEST if test else EventKind.PRESS, at
    )
    primaries = [p.id for p in settings.police if not p.secondary]
    secondaries = [p.id for p in settings.police if p.secondary]

    def store(connection: Connection) -> None:
        ids = insert_events(connection, [event])
        stored, deliveries = create_alarm(
            connection,
            event_id=ids[event_key(event)],
            event=event,
            school=school,
            button=button,
            endpoint_ids=primaries,
        )
        if escalate_after_s is not None:
            deliveries = escalate_alarm(
                connection,
                stored.id,
                at=at + timedelta(seconds=escalate_after_s),
                endpoint_ids=secondaries,
            )
        if ack_after_s is not None:
            record_acknowledged(
                connection,
                deliveries[0].id,
                at=at + timedelta(seconds=ack_after_s),
                latency_s=ack_after_s,
                status=200,
                response="ok",
            )

    await context.writer.run(store)


async def scans(
    context: GatewayContext,
    school_id: str,
    checkpoint_id: str,
    times: Sequence[datetime],
    *,
    guard_id: str,
    forged: bool = False,
) -> None:
    """Reader scans of a checkpoint's signed tag (a forged one if asked), checked and stored
    as the runtime does."""
    settings = context.settings
    tag = sign_tag(settings.patrol, school_id, checkpoint_id)
    if forged:
        tag = tag[:-4] + ("AAAA" if not tag.endswith("AAAA") else "BBBB")
    incoming = [
        IncomingScan(
            school_id=school_id,
            guard_id=guard_id,
            tag=tag,
            scanned_at=at,
            received_at=at,
            source=ScanSource.READER,
            message_id=uuid.uuid4().hex,
            reader_checkpoint=checkpoint_id,
        )
        for at in times
    ]
    await context.writer.run(lambda connection: record_scans(connection, settings, incoming))


Step = tuple[HazardStage, datetime, datetime | None]  # stage, when, deadline (assigned)


async def ticket(
    context: GatewayContext,
    school_id: str,
    subject_id: str,
    opened_at: datetime,
    steps: Sequence[Step] = (),
    kind: AlertKind = AlertKind.GATE_UNSTAFFED,
) -> str:
    """A ticket opened by a violation at `opened_at`, moved through `steps` as the API
    moves it (a step row, the ticket's stage, assignee and deadline). Returns its id."""
    found = Alert(school_id, kind, "gate", subject_id, opened_at, f"{subject_id} {kind}")
    await context.writer.run(lambda connection: open_tickets(connection, [found]))
    async with context.sessions() as session:
        stored = await session.scalar(
            select(HazardTicket)
            .where(HazardTicket.school_id == school_id, HazardTicket.subject_id == subject_id)
            .order_by(HazardTicket.id.desc())
            .limit(1)
        )
        assert stored is not None
        for stage, at, deadline in steps:
            assignee = "张主任" if stage is HazardStage.ASSIGNED else None
            session.add(
                HazardStep(
                    ticket_pk=stored.id,
                    stage=stage.value,
                    username="inspector",
                    at=at,
                    note=None,
                    assignee=assignee,
                    deadline=deadline,
                )
            )
            stored.stage = stage.value
            stored.updated_at = at
            if stage is HazardStage.ASSIGNED:
                stored.assignee, stored.deadline = assignee, deadline
        await session.commit()
        return stored.ticket_id


async def camera_link(
    context: GatewayContext, school_id: str, camera_id: str, at: datetime, *, online: bool
) -> None:
    """The presence watcher's alert for a camera going offline or coming back."""
    kind = AlertKind.DEVICE_ONLINE if online else AlertKind.DEVICE_OFFLINE
    alert = Alert(school_id, kind, "camera", camera_id, at, f"摄像头{camera_id} {kind}")
    zone = context.settings.gateway.zone
    await context.writer.run(lambda connection: store_alerts(connection, [alert], zone))


async def recorded_exports(context: GatewayContext) -> list[tuple[str, str, str]]:
    """The report exports on record: (username, role, subject), in order."""
    async with context.sessions() as session:
        rows = await session.execute(
            select(UserAction.username, UserAction.role, UserAction.subject)
            .where(UserAction.action == "report.export")
            .order_by(UserAction.id)
        )
        return [(row.username, row.role, row.subject) for row in rows]
