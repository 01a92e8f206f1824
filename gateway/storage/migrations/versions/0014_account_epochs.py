"""Accounts can be revoked: each account has an epoch (`users.token_epoch`), a random value
made anew at every change of the account (a reset password, a new role or scope, disabling,
enabling) and carried by its bearer tokens and web sessions (`web_sessions.account_epoch`),
which are refused once it changed; `users.changed_at` is when that last change was. The
users columns are nullable and NULL in the rows already there, so their audit digests still
verify (a row's digest leaves its NULL columns out); such an account's tokens, issued
without an epoch, keep working until its first change.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 16:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from gateway.audit.digest import EntryAction
from gateway.audit.journal import AUDITED_TABLES, append_entries, entries_for

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 500


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("token_epoch", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("account_epoch", sa.String(length=32), nullable=True))


def downgrade() -> None:
    # The accounts made or changed since 0014 are in the audit log with their epoch and
    # change time: without those columns they would no longer match their last entries, so
    # they are recorded again as the downgrade leaves them (by "migration"). Revision 0013
    # cannot tell a token issued before a reset from one issued after: set a new
    # gateway.secret_key after going back to end every token.
    bind = op.get_bind()
    changed = list(
        bind.execute(
            sa.text("SELECT id FROM users WHERE token_epoch IS NOT NULL OR changed_at IS NOT NULL")
        ).scalars()
    )
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_column("account_epoch")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("token_epoch")
    _record_again(bind, changed)


def _record_again(connection: sa.Connection, ids: list[int]) -> None:
    """An update entry for each of the `ids` users rows, with the columns they have now."""
    table = AUDITED_TABLES["users"]
    present = {column["name"] for column in sa.inspect(connection).get_columns("users")}
    columns = [column for column in table.columns if column.name in present]
    at = datetime.now(UTC)
    for start in range(0, len(ids), CHUNK):
        rows = connection.execute(
            sa.select(*columns).where(table.c.id.in_(ids[start : start + CHUNK]))
        ).all()
        append_entries(
            connection,
            entries_for(table, rows, action=EntryAction.UPDATE, actor="migration", at=at),
        )
