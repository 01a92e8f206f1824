"""Outbox leases (scale-out, PostgreSQL only; docs/scale-out.md): which gateway instance works
on a police delivery, and until when unless it renews. Plain functions of a `Connection`,
run by `DatabaseWriter` like the other writes.

Leases are held per lane (one button to one endpoint), never per delivery, so that a lane's
deliveries go out in order even when two instances stored them: at any time the open
deliveries of a lane with a live lease all belong to one instance, and a delivery is only
claimed behind deliveries its claimant already holds. The rest wait unclaimed until the lane's
holder (or, once nobody holds it, any instance) takes the whole lane in one go.

Times are the database's (`now()`), so the instances' clocks need not agree. A single gateway
(SQLite, or no `mqtt.shared_group`) never claims anything: the columns stay NULL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Interval,
    Select,
    Table,
    TextClause,
    Update,
    bindparam,
    event,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from gateway.storage.models import Alarm, PoliceDelivery

DELIVERIES = cast(Table, PoliceDelivery.__table__)
ALARMS = cast(Table, Alarm.__table__)
LANE_LOCK_SPACE = 0x43474C4E  # "CGLN": advisory lock space of outbox lanes
HOLDER_KEY = "campus_lease_holder"  # in a pooled connection's info: who claims what it stores
TAKE_LANES = 20  # lanes taken over per transaction


@dataclass(frozen=True, slots=True)
class LeaseHolder:
    instance_id: str
    lease_s: float

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s)


@dataclass(frozen=True, slots=True)
class TakenDelivery:
    """A delivery an instance just took over, with its alarm (to rebuild the body)."""

    delivery: PoliceDelivery
    alarm: Alarm


@dataclass(frozen=True, slots=True)
class TakeOver:
    taken: list[TakenDelivery]
    next_lane: str | None  # where the next page of lanes starts; None: no more lanes


def hold_deliveries(engine: AsyncEngine, holder: LeaseHolder) -> Callable[[], None]:
    """From now on, deliveries stored over `engine` are claimed by `holder` where their lane
    allows (see `claim_new`). Returns the undo. Set at every checkout (connections pooled
    before, the migrations', carry it too) and taken off at checkin (so that the undo
    leaves none behind)."""

    def on_checkout(
        _dbapi: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        record.info[HOLDER_KEY] = holder

    def on_checkin(_dbapi: Any, record: ConnectionPoolEntry) -> None:
        record.info.pop(HOLDER_KEY, None)

    event.listen(engine.sync_engine, "checkout", on_checkout)
    event.listen(engine.sync_engine, "checkin", on_checkin)

    def undo() -> None:
        event.remove(engine.sync_engine, "checkout", on_checkout)
        event.remove(engine.sync_engine, "checkin", on_checkin)

    return undo


def _lane_key() -> str:
    # Per schema: the tests (and some sites) keep several gateways' schemas in one database.
    return "hashtext(coalesce(current_schema(), '') || ':' || :lane)"


@cache
def _lock_lane() -> TextClause:
    return text(f"SELECT pg_advisory_xact_lock(:space, {_lane_key()}), now()")


@cache
def _try_lock_lane() -> TextClause:
    return text(f"SELECT pg_try_advisory_xact_lock(:space, {_lane_key()}), now()")


@cache
def _open_in_lane() -> Select[Any]:
    c = DELIVERIES.c
    return select(c.endpoint_id, c.claimed_by, c.claimed_until).where(
        c.lane == bindparam("lane"),
        c.acknowledged_at.is_(None),
        c.endpoint_id.in_(bindparam("endpoints", expanding=True)),
    )


def claim_new(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Called with the rows of new deliveries of one lane, before they are inserted: set
    `claimed_by`/`claimed_until` to the connection's holder on each whose lane holds nothing
    open but what the holder itself holds live; leave the others unclaimed (NULL), for the
    lane's holder to take in order. No holder (a single gateway): nothing to do."""
    holder: LeaseHolder | None = connection.info.get(HOLDER_KEY)
    for row in rows:
        row.setdefault("claimed_by", None)
        row.setdefault("claimed_until", None)
    if holder is None or not rows:
        return
    lane = rows[0]["lane"]
    # One writer per lane at a time (the sweep takes the same lock): otherwise two could each
    # find the lane empty and claim, and the lane would be split between two instances.
    now = connection.execute(_lock_lane(), {"space": LANE_LOCK_SPACE, "lane": lane}).one()[1]
    endpoints = sorted({row["endpoint_id"] for row in rows})
    blocked = {
        r.endpoint_id
        for r in connection.execute(_open_in_lane(), {"lane": lane, "endpoints": endpoints})
        if r.claimed_by != holder.instance_id or r.claimed_until is None or r.claimed_until < now
    }
    for row in rows:
        if row["endpoint_id"] not in blocked:
            row["claimed_by"] = holder.instance_id
            row["claimed_until"] = now + holder.lease


@cache
def _renew() -> Update:
    c = DELIVERIES.c
    return (
        update(DELIVERIES)
        .where(
            c.claimed_by == bindparam("me"),
            c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))),
        )
        .values(claimed_until=func.now() + bindparam("lease", type_=Interval()))
        .returning(c.id)
    )


def renew(connection: Connection, holder: LeaseHolder, ids: Collection[int]) -> set[int]:
    """Extend the leases of the deliveries `ids` the holder still holds; return those. The
    others were taken over (the holder was too slow): drop them. (One acknowledged a moment
    ago is still held: renewing it is harmless, and it is not mistaken for one lost.)"""
    if not ids:
        return set()
    result = connection.execute(
        _renew(), {"me": holder.instance_id, "ids": list(ids), "lease": holder.lease}
    )
    return {row.id for row in result}


@cache
def _release() -> Update:
    c = DELIVERIES.c
    return (
        update(DELIVERIES)
        .where(c.claimed_by == bindparam("me"), c.acknowledged_at.is_(None))
        .values(claimed_until=func.now())
    )


def release(connection: Connection, holder: LeaseHolder) -> None:
    """At a clean stop: let the holder's leases run out now, so that the other instances
    take its lanes at their next sweep rather than a lease later."""
    connection.execute(_release(), {"me": holder.instance_id})


def _free(include_own: bool) -> Any:
    """An open delivery nobody holds live (and, at start, one this instance held before)."""
    c = DELIVERIES.c
    free = or_(c.claimed_by.is_(None), c.claimed_until < func.now())
    return or_(free, c.claimed_by == bindparam("me")) if include_own else free


@cache
def _lanes_to_take(include_own: bool) -> Select[Any]:
    """Lanes with a free open delivery and no live lease of another instance."""
    c = DELIVERIES.c
    other = DELIVERIES.alias("other")
    o = other.c
    held_elsewhere = exists().where(
        o.lane == c.lane,
        o.endpoint_id == c.endpoint_id,
        o.acknowledged_at.is_(None),
        o.claimed_by != bindparam("me"),
        o.claimed_until >= func.now(),
    )
    return (
        select(c.lane)
        .where(
            c.acknowledged_at.is_(None),
            c.endpoint_id.in_(bindparam("endpoints", expanding=True)),
            c.lane > bindparam("after"),
            _free(include_own),
            ~held_elsewhere,
        )
        .group_by(c.lane)
        .order_by(c.lane)
        .limit(bindparam("limit"))
    )


@cache
def _lane_rows(lock: bool) -> Select[Any]:
    c = DELIVERIES.c
    # Without the lock, only the ids: to see whether the locked read left a row out.
    statement = (
        (select(DELIVERIES) if lock else select(c.id))
        .where(
            c.lane == bindparam("lane"),
            c.acknowledged_at.is_(None),
            c.endpoint_id.in_(bindparam("endpoints", expanding=True)),
        )
        .order_by(c.id)
    )
    # SKIP LOCKED: a delivery another transaction is writing (an attempt being recorded) is
    # left out, and the lane with it, until the next sweep.
    return statement.with_for_update(skip_locked=True) if lock else statement


@cache
def _claim() -> Update:
    c = DELIVERIES.c
    return (
        update(DELIVERIES)
        .where(c.id == func.any(bindparam("ids", type_=ARRAY(BigInteger))))
        .values(
            claimed_by=bindparam("me"),
            claimed_until=func.now() + bindparam("lease", type_=Interval()),
        )
        .returning(*DELIVERIES.c)
    )


def take_over(
    connection: Connection,
    holder: LeaseHolder,
    *,
    endpoint_ids: Sequence[str],
    known: Collection[int],
    include_own: bool,
    after: str = "",
    limit: int = TAKE_LANES,
) -> TakeOver:
    """Take whole lanes nobody else holds live that have a free open delivery (unclaimed,
    its lease expired, or, with `include_own`, held by this instance before a restart): up
    to `limit` lanes, in name order from `after`. Returns the deliveries taken that are not
    in `known` (the instance's worker has those), oldest first, each with its alarm."""
    if not endpoint_ids:
        return TakeOver([], None)
    me = holder.instance_id
    endpoints = sorted(endpoint_ids)
    lanes = list(
        connection.execute(
            _lanes_to_take(include_own),
            {"me": me, "endpoints": endpoints, "limit": limit, "after": after},
        ).scalars()
    )
    taken: list[Any] = []
    for lane in lanes:
        locked, now = connection.execute(
            _try_lock_lane(), {"space": LANE_LOCK_SPACE, "lane": lane}
        ).one()
        if not locked:
            continue  # another instance is storing into it or taking it right now
        parameters = {"lane": lane, "endpoints": endpoints}
        everything = connection.execute(_lane_rows(False), parameters).scalars().all()
        rows = connection.execute(_lane_rows(True), parameters).all()
        if [r.id for r in rows] != list(everything):
            continue  # a part is being written: take it whole next time, never in pieces
        wanted = [r.id for r in rows if not _held_elsewhere(r, me, now, rows)]
        if wanted:
            taken += connection.execute(
                _claim(), {"ids": wanted, "me": me, "lease": holder.lease}
            ).all()
    fresh = sorted((r for r in taken if r.id not in known), key=lambda r: r.id)
    return TakeOver(_with_alarms(connection, fresh), lanes[-1] if len(lanes) == limit else None)


def _held_elsewhere(row: Any, me: str, now: datetime, lane: Sequence[Any]) -> bool:
    """Is the row's endpoint lane held live by another instance? (Checked again under the
    lock: the candidates were read before it.)"""
    return any(
        r.endpoint_id == row.endpoint_id
        and r.claimed_by is not None
        and r.claimed_by != me
        and r.claimed_until is not None
        and r.claimed_until >= now
        for r in lane
    )


def _with_alarms(connection: Connection, rows: Sequence[Any]) -> list[TakenDelivery]:
    if not rows:
        return []
    alarm_pks = sorted({r.alarm_pk for r in rows})
    alarms = {
        a.id: Alarm(**a._mapping)
        for a in connection.execute(select(ALARMS).where(ALARMS.c.id.in_(alarm_pks)))
    }
    return [TakenDelivery(PoliceDelivery(**r._mapping), alarms[r.alarm_pk]) for r in rows]
