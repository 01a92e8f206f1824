"""Initial schema: devices, events, alarms, police deliveries (the outbox), users.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:54:13.947578
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "devices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("school_id", "kind", "device_id", name="uq_devices_ref"),
    )
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("device_kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("transport", sa.String(length=16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_skew_s", sa.Float(), nullable=False),
        sa.Column("topic", sa.String(length=512), nullable=False),
        sa.Column("raw_payload", sa.Text(), nullable=False),
        sa.Column("guard_id", sa.String(length=64), nullable=True),
        sa.Column("tag", sa.String(length=512), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "school_id", "device_kind", "device_id", "message_id", name="uq_events_message"
        ),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_device_time",
            ["school_id", "device_kind", "device_id", "occurred_at"],
            unique=False,
        )
        batch_op.create_index("ix_events_kind_time", ["kind", "occurred_at"], unique=False)

    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "alarms",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alarm_id", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("school_name", sa.String(length=256), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("location", sa.String(length=256), nullable=False),
        sa.Column("zone", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("source_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_alarms_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_alarms_alarm_id")),
        sa.UniqueConstraint("event_id", name=op.f("uq_alarms_event_id")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_school_time", ["school_id", "received_at"], unique=False)

    op.create_table(
        "police_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alarm_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("endpoint_id", sa.String(length=64), nullable=False),
        sa.Column("lane", sa.String(length=160), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("latency_s", sa.Float(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_response", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_pk"], ["alarms.id"], name=op.f("fk_police_deliveries_alarm_pk_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_police_deliveries")),
        sa.UniqueConstraint("alarm_pk", "endpoint_id", name="uq_police_deliveries_alarm_endpoint"),
    )
    with op.batch_alter_table("police_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_police_deliveries_pending", ["endpoint_id", "acknowledged_at", "id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("police_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_police_deliveries_pending")

    op.drop_table("police_deliveries")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index("ix_alarms_school_time")

    op.drop_table("alarms")
    op.drop_table("users")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_kind_time")
        batch_op.drop_index("ix_events_device_time")

    op.drop_table("events")
    op.drop_table("devices")
