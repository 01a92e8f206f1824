"""Audit entries that list several rows: one entry for the rows a statement wrote together
(`last_row_id`, `row_digests`), so that telemetry costs the log a digest per event, not an
entry per event. Entries written before keep verifying as they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 15:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries") as batch:
        batch.add_column(sa.Column("last_row_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("row_digests", sa.Text(), nullable=True))


def downgrade() -> None:
    # Listed entries cannot be expressed one row each without their rows' digests at the
    # time (the rows may have changed since): going back would break the log.
    bind = op.get_bind()
    listed = bind.execute(
        sa.text("SELECT count(*) FROM audit_entries WHERE row_digests IS NOT NULL")
    ).scalar_one()
    if listed:
        raise RuntimeError(
            f"cannot downgrade below 0010: {listed} audit entries list several rows and "
            "would no longer verify"
        )
    with op.batch_alter_table("audit_entries") as batch:
        batch.drop_column("row_digests")
        batch.drop_column("last_row_id")
