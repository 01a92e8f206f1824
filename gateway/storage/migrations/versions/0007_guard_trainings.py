"""Guards' training sessions (quarterly, by the campaign).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "guard_trainings",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("guard_id", sa.String(length=64), nullable=False),
        sa.Column("trained_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("hours", sa.Float(), nullable=True),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guard_trainings")),
    )
    op.create_index(
        "ix_guard_trainings_guard", "guard_trainings", ["school_id", "guard_id", "trained_on"]
    )


def downgrade() -> None:
    op.drop_index("ix_guard_trainings_guard", table_name="guard_trainings")
    op.drop_table("guard_trainings")
