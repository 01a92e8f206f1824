"""Hidden-danger tickets and their steps through the closed loop.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "hazard_tickets",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("subject_kind", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_tickets")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_hazard_tickets_ticket_id")),
    )
    op.create_index(
        "ix_hazard_tickets_open",
        "hazard_tickets",
        ["school_id", "category", "subject_id", "stage"],
    )
    op.create_table(
        "hazard_steps",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ticket_pk", BIG_ID, nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_pk"],
            ["hazard_tickets.id"],
            name=op.f("fk_hazard_steps_ticket_pk_hazard_tickets"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hazard_steps")),
    )
    op.create_index("ix_hazard_steps_ticket", "hazard_steps", ["ticket_pk", "id"])


def downgrade() -> None:
    op.drop_index("ix_hazard_steps_ticket", table_name="hazard_steps")
    op.drop_table("hazard_steps")
    op.drop_index("ix_hazard_tickets_open", table_name="hazard_tickets")
    op.drop_table("hazard_tickets")
