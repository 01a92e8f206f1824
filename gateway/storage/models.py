"""Tables. Every timestamp is stored in UTC and read back as an aware datetime."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gateway.domain import content_key

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("school_id", "kind", "device_id", name="uq_devices_ref"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str] = mapped_column(String(64))
    online: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    status_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


def _content_key_of_row(context: Any) -> str:
    """The key of a row inserted without one (the ingest path passes it)."""
    row = context.get_current_parameters()
    at = row["occurred_at"]
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at  # SQLite's bound value
    return content_key(row["kind"], at, row.get("guard_id"), row.get("tag"))


class Event(Base):
    """Every ingested event, as received (the raw payload is kept for audits)."""

    __tablename__ = "events"
    __table_args__ = (
        # A message is a copy only if it repeats the device, the id and the content.
        UniqueConstraint(
            "school_id",
            "device_kind",
            "device_id",
            "message_id",
            "content_key",
            name="uq_events_message_content",
        ),
        Index("ix_events_device_time", "school_id", "device_kind", "device_id", "occurred_at"),
        Index("ix_events_kind_time", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64))
    device_kind: Mapped[str] = mapped_column(String(16))
    device_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(128))
    # `DeviceEvent.content_key`; derived from the audited columns, so not audited itself.
    content_key: Mapped[str] = mapped_column(
        String(16), default=_content_key_of_row, info={"audited": False}
    )
    kind: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clock_skew_s: Mapped[float] = mapped_column(Float)
    topic: Mapped[str] = mapped_column(String(512))
    raw_payload: Mapped[str] = mapped_column(Text)
    guard_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    tag: Mapped[str | None] = mapped_column(String(512), nullable=True)


class Alarm(Base):
    """A press or test, to be forwarded to every police endpoint."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_school_time", "school_id", "received_at"),
        # Finds the alarms no endpoint has acknowledged yet (escalation): few, once settled.
        Index("ix_alarms_unsettled", "acknowledged_at", "escalated_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str] = mapped_column(String(64))
    school_name: Mapped[str] = mapped_column(String(256))
    device_id: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(256))
    zone: Mapped[int] = mapped_column(Integer)
    camera_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source_id: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The first acknowledgement by any police endpoint; when it was escalated, if it was.
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # A test announced in advance (报备): the notice it answered, sent to the police with it.
    notice_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    notice_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    notice_window_end: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AlarmAction(Base):
    """A person moving an alarm on: acknowledged, dispatched, on scene, closed; who and when."""

    __tablename__ = "alarm_actions"
    __table_args__ = (Index("ix_alarm_actions_alarm", "alarm_pk", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_pk: Mapped[int] = mapped_column(ForeignKey("alarms.id"))
    stage: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class PoliceDelivery(Base):
    """The outbox: one row per alarm and police endpoint, until the endpoint acknowledges."""

    __tablename__ = "police_deliveries"
    __table_args__ = (
        UniqueConstraint("alarm_pk", "endpoint_id", name="uq_police_deliveries_alarm_endpoint"),
        Index("ix_police_deliveries_pending", "endpoint_id", "acknowledged_at", "id"),
        # Scale-out: the open deliveries of a lane, read when one is stored or taken over.
        Index(
            "ix_police_deliveries_open_lanes",
            "lane",
            "endpoint_id",
            postgresql_where=text("acknowledged_at IS NULL"),
            sqlite_where=text("acknowledged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alarm_pk: Mapped[int] = mapped_column(ForeignKey("alarms.id"))
    endpoint_id: Mapped[str] = mapped_column(String(64))
    # Deliveries of one lane (one button) go out in order; lanes are independent.
    lane: Mapped[str] = mapped_column(String(160))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    latency_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_response: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Scale-out (gateway/storage/leases.py): the instance working on it, and until when
    # unless renewed. Scheduling state, not the record: left out of the audit digests.
    claimed_by: Mapped[str | None] = mapped_column(
        String(64), nullable=True, info={"audited": False}
    )
    claimed_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime, nullable=True, info={"audited": False}
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    school_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What a police or inspector account sees (schools[].police_station, schools[].district);
    # NULL is city level. Nullable, so the rows written before keep their audit digests.
    station: Mapped[str | None] = mapped_column(String(64), nullable=True)
    district: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Random, new at every change of the account; its tokens and web sessions carry it and
    # are refused once it changed (gateway/auth/tokens.py). NULL in the rows from before
    # 0014 until their first change, and the last change's time with it.
    token_epoch: Mapped[str | None] = mapped_column(String(32), nullable=True)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class WebSession(Base):
    """A sign-in on the web pages: the browser holds a random token in an HttpOnly cookie,
    the table its SHA-256, so that signing out ends it here and a copy of the table signs
    nobody in. Not in the audit log: sessions come and go with every shift."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # The account's epoch at sign-in (`users.token_epoch`): the session ends with it.
    account_epoch: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Snapshot(Base):
    """A camera picture kept as evidence with the event it belongs to."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"), unique=True)
    camera_id: Mapped[str] = mapped_column(String(64))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class GatewayAlert(Base):
    """Compliance and device alerts, as published on `{prefix}/{school}/gateway/alert`.
    Stored first, then published: `published_at` stays empty until the broker took it."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_subject", "school_id", "subject_kind", "subject_id", "id"),
        Index("ix_alerts_unpublished", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    payload: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class PatrolScan(Base):
    """A patrol scan from any source (reader, phone, photo, late upload), counted at its scan
    time. Refused scans are kept too, with the reason: they are the suspicious scans."""

    __tablename__ = "patrol_scans"
    __table_args__ = (
        UniqueConstraint("school_id", "source", "message_id", name="uq_patrol_scans_message"),
        Index("ix_patrol_scans_checkpoint_time", "school_id", "checkpoint_id", "scanned_at"),
        Index("ix_patrol_scans_time", "scanned_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64))
    # The checkpoint the tag (or the reader) names; empty when neither names a known one.
    checkpoint_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    guard_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    tag: Mapped[str] = mapped_column(String(512))
    key_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    scanned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Who sent it in: the reader's event, or the account that uploaded it.
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id"), nullable=True)
    submitted_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TestNotice(Base):
    """A monthly alarm test announced in advance (报备) by the police or the education bureau:
    the button's next press within the window is the test, forwarded as kind `test` with the
    notice, so the centre does not dispatch. Also where the testers' names are kept."""

    __tablename__ = "test_notices"
    __table_args__ = (Index("ix_test_notices_button", "school_id", "button_id", "window_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(String(40), unique=True)
    school_id: Mapped[str] = mapped_column(String(64))
    button_id: Mapped[str] = mapped_column(String(64))
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    police_officer: Mapped[str | None] = mapped_column(String(64), nullable=True)
    bureau_staff: Mapped[str | None] = mapped_column(String(64), nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The test alarm it became (the first press in the window), once there is one.
    alarm_pk: Mapped[int | None] = mapped_column(
        ForeignKey("alarms.id"), nullable=True, unique=True
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class GuardTraining(Base):
    """A guard's training session (the campaign asks for one every quarter), as recorded by
    the school's security officer or the education bureau."""

    __tablename__ = "guard_trainings"
    __table_args__ = (Index("ix_guard_trainings_guard", "school_id", "guard_id", "trained_on"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    school_id: Mapped[str] = mapped_column(String(64))
    guard_id: Mapped[str] = mapped_column(String(64))
    trained_on: Mapped[date] = mapped_column(Date)  # the local date
    topic: Mapped[str] = mapped_column(String(200))
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HazardTicket(Base):
    """A hidden danger (隐患) found by the gateway, moved through the closed loop by people."""

    __tablename__ = "hazard_tickets"
    __table_args__ = (
        Index("ix_hazard_tickets_open", "school_id", "category", "subject_id", "stage"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(32), unique=True)
    school_id: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(32))  # the alert kind that found it
    subject_kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    stage: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrences: Mapped[int] = mapped_column(Integer)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class HazardStep(Base):
    """One move of a ticket: who, when, to which stage, with what note."""

    __tablename__ = "hazard_steps"
    __table_args__ = (Index("ix_hazard_steps_ticket", "ticket_pk", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    ticket_pk: Mapped[int] = mapped_column(ForeignKey("hazard_tickets.id"))
    stage: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class UserAction(Base):
    """Something a person did that leaves no other record: an export, a verification."""

    __tablename__ = "user_actions"
    __table_args__ = (Index("ix_user_actions_time", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class AuditEntry(Base):
    """The tamper-evident log: one entry per write of an audited row (its table, id and a
    digest of its content as stored), or per statement that wrote several, by whom. A sealer
    links entries in order: each sealed entry holds its position `seq`, the hash of the entry
    before and its own hash, so editing or removing an entry, or a row behind the gateway's
    back, shows (gateway/audit)."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        UniqueConstraint("seq", name="uq_audit_entries_seq"),
        Index("ix_audit_entries_row", "table_name", "row_id", "id"),
        # The sealer's work list: the few entries not linked yet.
        Index(
            "ix_audit_entries_unsealed",
            "id",
            postgresql_where=text("seq IS NULL"),
            sqlite_where=text("seq IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[int] = mapped_column(BigInteger)  # the row, or the lowest of those listed
    # An entry for several rows written at once (0010): the highest id and the listing of
    # `id:digest` pairs; `digest` is then the listing's digest.
    last_row_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    row_digests: Mapped[str | None] = mapped_column(Text, nullable=True)
    action: Mapped[str] = mapped_column(String(8))
    digest: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
