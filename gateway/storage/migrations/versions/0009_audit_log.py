"""The tamper-evident log (audit_entries) and people's actions (user_actions); every row
already stored is recorded once as a baseline, so the log covers what was there before it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 13:30:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from gateway.audit.digest import EntryAction
from gateway.audit.journal import AUDITED_TABLES, append_entries, entries_for

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BASELINE_BATCH = 2000
BASELINE_KEYS = {"table_name", "row_id", "action", "digest", "actor", "recorded_at"}


def upgrade() -> None:
    op.create_table(
        "user_actions",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_actions")),
    )
    op.create_index("ix_user_actions_time", "user_actions", ["at"])
    op.create_table(
        "audit_entries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("table_name", sa.String(length=32), nullable=False),
        sa.Column("row_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
        sa.UniqueConstraint("seq", name="uq_audit_entries_seq"),
    )
    op.create_index("ix_audit_entries_row", "audit_entries", ["table_name", "row_id", "id"])
    op.create_index(
        "ix_audit_entries_unsealed",
        "audit_entries",
        ["id"],
        postgresql_where=sa.text("seq IS NULL"),
        sqlite_where=sa.text("seq IS NULL"),
    )
    _baseline(op.get_bind())


def _baseline(connection: sa.Connection) -> None:
    """Record every existing row as it is now (the columns it has at this revision)."""
    at = datetime.now(UTC)
    inspector = sa.inspect(connection)
    for name, table in AUDITED_TABLES.items():
        present = {column["name"] for column in inspector.get_columns(name)}
        columns = [column for column in table.columns if column.name in present]
        last = 0
        while True:
            rows = connection.execute(
                sa.select(*columns)
                .where(table.c.id > last)
                .order_by(table.c.id)
                .limit(BASELINE_BATCH)
            ).all()
            if not rows:
                break
            # One entry per row (at this revision entries list no rows), only the columns
            # this revision has.
            entries = entries_for(
                table, rows, action=EntryAction.BASELINE, actor="migration", at=at
            )
            append_entries(
                connection,
                [
                    {key: value for key, value in entry.items() if key in BASELINE_KEYS}
                    for entry in entries
                ],
            )
            last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_audit_entries_unsealed", table_name="audit_entries")
    op.drop_index("ix_audit_entries_row", table_name="audit_entries")
    op.drop_table("audit_entries")
    op.drop_index("ix_user_actions_time", table_name="user_actions")
    op.drop_table("user_actions")
