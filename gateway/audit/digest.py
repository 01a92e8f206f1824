"""Digests of rows and links of the chain. Pure, and stable for ever: an entry written today
must verify in ten years, so a change here needs a migration that re-baselines the log.

A row's digest covers its columns that are not NULL (so a migration that adds a nullable
column leaves old digests valid), each value in one canonical text form. Columns marked
`info={"audited": False}` are scheduling state, not the record (a police delivery's lease),
and are left out: they are rewritten without a log entry."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer, Table
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
        # Already in UTC (as stored and read back): no conversion, it is a third of the cost.
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    raise TypeError(f"cannot digest a {type(value).__name__}")


def canonical_text(table: Table, row: Mapping[str, Any]) -> str:
    """The text a row's digest is taken of: its non-NULL columns as one JSON object, keys
    sorted, no spaces, non-ASCII as is. This is the definition; `row_digest` writes the same
    text faster (the test suite holds the two to each other)."""
    content = {}
    for column in _audited_columns(table):
        value = row.get(column.key)
        if value is not None:
            content[column.key] = canonical_value(value, column.type)
    return json.dumps(content, ensure_ascii=False, separators=(",", ":"))


def _json_bool(value: Any) -> str:
    return "true" if value else "false"


def _json_int(value: Any) -> str:
    return int.__repr__(int(value))


def _json_float(value: Any) -> str:
    number = float(value)
    if math.isfinite(number):
        return float.__repr__(number)  # what json.dumps writes for a finite float
    return json.dumps(number)


# json.dumps(ensure_ascii=False)'s own string writer (in C when available).
_JSON_STRING: Callable[[str], str] = json.encoder.encode_basestring


def _json_by_value(value: Any) -> str:
    return _JSON_STRING(_by_value(value))


def _json_writer(column_type: TypeEngine[Any]) -> Callable[[Any], str]:
    if isinstance(column_type, Boolean):
        return _json_bool
    if isinstance(column_type, Float):
        return _json_float
    if isinstance(column_type, Integer):
        return _json_int
    return _json_by_value


def _audited_columns(table: Table) -> list[Column[Any]]:
    """The columns a digest covers, in key order."""
    columns = (column for column in table.columns if column.info.get("audited", True))
    return sorted(columns, key=lambda column: column.key)


@cache
def _plan(table: Table) -> tuple[tuple[str, str, Callable[[Any], str]], ...]:
    """The table's columns in key order, each with its JSON key and value writer, worked
    out once: digests are taken on the ingest path, thousands a second."""
    columns = _audited_columns(table)
    return tuple(
        (column.key, _JSON_STRING(column.key) + ":", _json_writer(column.type))
        for column in columns
    )


def row_digest(table: Table, row: Mapping[str, Any]) -> str:
    """SHA-256 of `canonical_text(table, row)`, written member by member."""
    members = []
    for key, prefix, write in _plan(table):  # in key order, like json.dumps(sort_keys)
        value = row.get(key)
        if value is not None:
            members.append(prefix + write(value))
    text = "{" + ",".join(members) + "}"
    return hashlib.sha256(text.encode()).hexdigest()


def listing(digests: Iterable[tuple[int, str]]) -> str:
    """The rows one entry records (an insert of many rows in one statement): `id:digest`
    pairs in id order, comma-separated. The entry's own digest is `listing_digest` of it."""
    return ",".join(f"{row_id}:{digest}" for row_id, digest in sorted(digests))


def parse_listing(text: str) -> list[tuple[int, str]]:
    """The `(id, digest)` pairs of a listing; ValueError if it is not one."""
    pairs = []
    for item in text.split(","):
        row_id, sep, digest = item.partition(":")
        if not sep or len(digest) != 64:
            raise ValueError(f"not an id:digest pair: {item[:80]!r}")
        pairs.append((int(row_id), digest))
    return pairs


def listing_digest(text: str) -> str:
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
