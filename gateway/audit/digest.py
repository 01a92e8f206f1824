"""Digests of rows and links of the chain. Pure, and stable for ever: an entry written today
must verify in ten years, so a change here needs a migration that re-baselines the log.

A row's digest covers its columns that are not NULL (so a migration that adds a nullable
column leaves old digests valid), each value in one canonical text form."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Float, Integer, Table
from sqlalchemy.types import TypeEngine

GENESIS = "0" * 64  # the hash "before" the first entry


class EntryAction(StrEnum):
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    BASELINE = "baseline"  # a row that was there when the log began (migration 0009)


def canonical_value(value: Any, column_type: TypeEngine[Any]) -> Any:
    """One form per value, whatever the driver returned (SQLite's REAL may come back for an
    int bound to a Float column, a bool as 0/1)."""
    return _converter(column_type)(value)


def _converter(column_type: TypeEngine[Any]) -> Callable[[Any], Any]:
    if isinstance(column_type, Boolean):
        return bool
    if isinstance(column_type, Float):
        return float
    if isinstance(column_type, Integer):
        return int
    return _by_value


def _by_value(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audited row")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    raise TypeError(f"cannot digest a {type(value).__name__}")


@cache
def _plan(table: Table) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """The table's columns in key order with their converters, worked out once: digests are
    taken on the ingest path, thousands a second."""
    columns = sorted(table.columns, key=lambda column: column.key)
    return tuple((column.key, _converter(column.type)) for column in columns)


def row_digest(table: Table, row: Mapping[str, Any]) -> str:
    content = {}
    for key, convert in _plan(table):  # in key order: the JSON's keys come out sorted
        value = row.get(key)
        if value is not None:
            content[key] = convert(value)
    text = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def link_hash(
    prev_hash: str,
    *,
    seq: int,
    table_name: str,
    row_id: int,
    action: str,
    digest: str,
    actor: str,
    recorded_at: datetime,
) -> str:
    """The hash of a sealed entry: its content and the hash of the entry before."""
    text = "|".join(
        (
            prev_hash,
            str(seq),
            table_name,
            str(row_id),
            action,
            digest,
            actor,
            recorded_at.astimezone(UTC).isoformat(),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def entry_hash(prev_hash: str, entry: Any, *, seq: int | None = None) -> str:
    """`link_hash` of a stored entry (a row of `audit_entries`), at `seq` when it is being
    sealed, else at its own."""
    return link_hash(
        prev_hash,
        seq=entry.seq if seq is None else seq,
        table_name=entry.table_name,
        row_id=entry.row_id,
        action=entry.action,
        digest=entry.digest,
        actor=entry.actor,
        recorded_at=entry.recorded_at,
    )
