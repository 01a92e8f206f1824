"""Monthly alarm tests: notices filed in advance (报备) with the testers, and the notice an
alarm answered.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alarms") as alarms:
        alarms.add_column(sa.Column("notice_id", sa.String(length=40), nullable=True))
        alarms.add_column(
            sa.Column("notice_window_start", sa.DateTime(timezone=True), nullable=True)
        )
        alarms.add_column(sa.Column("notice_window_end", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "test_notices",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("notice_id", sa.String(length=40), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("button_id", sa.String(length=64), nullable=False),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("police_officer", sa.String(length=64), nullable=True),
        sa.Column("bureau_staff", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("alarm_pk", BIG_ID, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_pk"], ["alarms.id"], name=op.f("fk_test_notices_alarm_pk_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_test_notices")),
        sa.UniqueConstraint("notice_id", name=op.f("uq_test_notices_notice_id")),
        sa.UniqueConstraint("alarm_pk", name=op.f("uq_test_notices_alarm_pk")),
    )
    op.create_index(
        "ix_test_notices_button", "test_notices", ["school_id", "button_id", "window_start"]
    )


def downgrade() -> None:
    op.drop_index("ix_test_notices_button", table_name="test_notices")
    op.drop_table("test_notices")
    with op.batch_alter_table("alarms") as alarms:
        alarms.drop_column("notice_window_end")
        alarms.drop_column("notice_window_start")
        alarms.drop_column("notice_id")
