"""Outbox leases for several gateway instances on one PostgreSQL (docs/scale-out.md): a police
delivery names the instance working on it (`claimed_by`) and until when (`claimed_until`),
and open deliveries are found by lane. Both columns are nullable, NULL in the rows already
there, and left out of the audit digests (scheduling state, not the record), so the log
still verifies. A single gateway never sets them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = sa.text("acknowledged_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("police_deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_police_deliveries_open_lanes",
        "police_deliveries",
        ["lane", "endpoint_id"],
        postgresql_where=OPEN,
        sqlite_where=OPEN,
    )


def downgrade() -> None:
    # Leases are scheduling state: dropping them loses nothing (a single gateway takes every
    # open delivery at start).
    op.drop_index("ix_police_deliveries_open_lanes", table_name="police_deliveries")
    with op.batch_alter_table("police_deliveries") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
