"""Duplicates are the same message, nothing else: an event is a copy of a stored one only if
it repeats the device, the message id and the content (event, device time, guard, tag).
`events.content_key` holds that content's digest (`DeviceEvent.content_key`) and joins the
unique key, so a device that reuses an id (a counter restarted after a power loss, a restore
numbered like the next press) has its new message stored instead of dropped.

The key is derived from audited columns and is not audited itself: the rows already there
are given theirs and the log still verifies.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 16:00:00
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KEY = ["school_id", "device_kind", "device_id", "message_id"]
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHUNK = 5000

# The same text and digest as `DeviceEvent.content_key` at this revision (a migration keeps
# its own copy: the model may change later, what this revision wrote may not).
PG_CONTENT_KEY = """
    substr(encode(sha256(convert_to(
        kind || '|' || floor(extract(epoch FROM occurred_at) * 1000000)::bigint::text
        || '|' || coalesce(guard_id, '') || '|' || coalesce(tag, ''),
    'UTF8')), 'hex'), 1, 16)
"""


def content_key(kind: str, occurred_at: datetime, guard_id: str | None, tag: str | None) -> str:
    if occurred_at.tzinfo is None:
        occurred_at = occurred_at.replace(tzinfo=UTC)  # SQLite keeps UTC without a zone
    micros = (occurred_at - EPOCH) // timedelta(microseconds=1)
    text = f"{kind}|{micros}|{guard_id or ''}|{tag or ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _backfill(bind: sa.Connection) -> None:
    if bind.dialect.name == "postgresql":
        bind.execute(sa.text(f"UPDATE events SET content_key = {PG_CONTENT_KEY}"))
        return
    events = sa.table(
        "events",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("occurred_at", sa.DateTime()),
        sa.column("guard_id", sa.String()),
        sa.column("tag", sa.String()),
        sa.column("content_key", sa.String()),
    )
    update = (
        sa.update(events)
        .where(events.c.id == sa.bindparam("event_pk"))
        .values(content_key=sa.bindparam("key"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(
                events.c.id, events.c.kind, events.c.occurred_at, events.c.guard_id, events.c.tag
            )
            .where(events.c.id > last)
            .order_by(events.c.id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        bind.execute(
            update,
            [
                {"event_pk": r.id, "key": content_key(r.kind, r.occurred_at, r.guard_id, r.tag)}
                for r in rows
            ],
        )
        last = rows[-1].id


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("content_key", sa.String(length=16), nullable=False, server_default="")
        )
    _backfill(op.get_bind())
    with op.batch_alter_table("events") as batch:
        batch.alter_column("content_key", server_default=None)
        batch.drop_constraint("uq_events_message", type_="unique")
        batch.create_unique_constraint("uq_events_message_content", [*OLD_KEY, "content_key"])


def downgrade() -> None:
    # Two messages under one id cannot both stay under the old key: going back would have to
    # delete a stored event (perhaps an alarm).
    bind = op.get_bind()
    reused = bind.execute(
        sa.text(
            "SELECT count(*) FROM (SELECT 1 FROM events GROUP BY "
            + ", ".join(OLD_KEY)
            + " HAVING count(*) > 1) AS reused"
        )
    ).scalar_one()
    if reused:
        raise RuntimeError(
            f"cannot downgrade below 0015: {reused} message ids were reused by their devices "
            "for other messages, each stored as its own event"
        )
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("uq_events_message_content", type_="unique")
        batch.create_unique_constraint("uq_events_message", OLD_KEY)
        batch.drop_column("content_key")
