"""What people did with an alarm: acknowledged, dispatched, on scene, closed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alarm_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("alarm_pk", BIG_ID, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alarm_pk"], ["alarms.id"], name=op.f("fk_alarm_actions_alarm_pk_alarms")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_actions")),
    )
    op.create_index("ix_alarm_actions_alarm", "alarm_actions", ["alarm_pk", "id"])


def downgrade() -> None:
    op.drop_index("ix_alarm_actions_alarm", table_name="alarm_actions")
    op.drop_table("alarm_actions")
