"""Accounts scoped to a police station or a district (`users.station`, `users.district`):
police see the schools of their station, inspectors those of their district. Both columns
are nullable and NULL in the rows already there, so their audit digests still verify (a
row's digest leaves its NULL columns out).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("station", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("district", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # A scoped account would silently become a city-level one, seeing every school, and its
    # audit digest would no longer match: refuse rather than widen what anyone sees.
    bind = op.get_bind()
    scoped = bind.execute(
        sa.text("SELECT count(*) FROM users WHERE station IS NOT NULL OR district IS NOT NULL")
    ).scalar_one()
    if scoped:
        raise RuntimeError(
            f"cannot downgrade below 0011: {scoped} accounts are scoped to a police station "
            "or a district and would see every school"
        )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("district")
        batch.drop_column("station")
