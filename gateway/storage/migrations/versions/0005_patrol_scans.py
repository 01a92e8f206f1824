"""Patrol scans from every source, the refused ones kept with their reason.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "patrol_scans",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_id", sa.String(length=64), nullable=True),
        sa.Column("guard_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("tag", sa.String(length=512), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=True),
        sa.Column("scanned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("event_id", BIG_ID, nullable=True),
        sa.Column("submitted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_patrol_scans_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol_scans")),
        sa.UniqueConstraint("school_id", "source", "message_id", name="uq_patrol_scans_message"),
    )
    op.create_index(
        "ix_patrol_scans_checkpoint_time",
        "patrol_scans",
        ["school_id", "checkpoint_id", "scanned_at"],
    )
    op.create_index("ix_patrol_scans_time", "patrol_scans", ["scanned_at"])


def downgrade() -> None:
    op.drop_index("ix_patrol_scans_time", table_name="patrol_scans")
    op.drop_index("ix_patrol_scans_checkpoint_time", table_name="patrol_scans")
    op.drop_table("patrol_scans")
