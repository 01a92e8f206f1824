"""Alarms remember their first police acknowledgement and their escalation.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:58:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alarms") as batch:
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_alarms_unsettled", "alarms", ["acknowledged_at", "escalated_at", "received_at"]
    )
    # Alarms acknowledged before this version: settled at their first acknowledgement.
    op.execute(
        "UPDATE alarms SET acknowledged_at = (SELECT min(d.acknowledged_at) "
        "FROM police_deliveries d WHERE d.alarm_pk = alarms.id)"
    )


def downgrade() -> None:
    op.drop_index("ix_alarms_unsettled", table_name="alarms")
    with op.batch_alter_table("alarms") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("acknowledged_at")
