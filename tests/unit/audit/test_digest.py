"""Row digests and chain links: one canonical form per value, every field in the link."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Date, Float, Integer, LargeBinary, MetaData, String, Table

from gateway.audit.digest import (
    GENESIS,
    canonical_text,
    canonical_value,
    link_hash,
    listing,
    listing_digest,
    parse_listing,
    row_digest,
)
from gateway.storage.models import UTCDateTime

TABLE = Table(
    "sample",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String),
    Column("at", UTCDateTime),
    Column("day", Date),
    Column("score", Float),
    Column("flag", Boolean),
    Column("data", LargeBinary),
)
AT = datetime(2026, 11, 30, 4, 5, 6, 789, tzinfo=UTC)


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 7,
        "name": "东关中学",
        "at": AT,
        "day": date(2026, 11, 30),
        "score": 2.5,
        "flag": False,
        "data": b"\x00\xff",
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    ("value", "column_type", "expected"),
    [
        (True, Boolean(), True),
        (1, Boolean(), True),  # SQLite hands booleans back as 0/1
        (0, Boolean(), False),
        (2, Float(), 2.0),  # SQLite's REAL for an int bound to a Float column
        (2.0, Float(), 2.0),
        (5, Integer(), 5),
        (AT, UTCDateTime(), "2026-11-30T04:05:06.000789+00:00"),
        (
            AT.astimezone(timezone(timedelta(hours=8))),
            UTCDateTime(),
            "2026-11-30T04:05:06.000789+00:00",
        ),
        (date(2026, 2, 28), Date(), "2026-02-28"),
        (b"abc", LargeBinary(), "sha256:" + hashlib.sha256(b"abc").hexdigest()),
        ("校门", String(), "校门"),
    ],
)
def test_canonical_values(value: Any, column_type: Any, expected: Any) -> None:
    assert canonical_value(value, column_type) == expected


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        canonical_value(datetime(2026, 1, 1), UTCDateTime())


def test_the_digest_is_pinned() -> None:
    """Entries written today must verify for ever: the canonical text is fixed."""
    text = (
        '{"at":"2026-11-30T04:05:06.000789+00:00","data":"sha256:'
        + hashlib.sha256(b"\x00\xff").hexdigest()
        + '","day":"2026-11-30","flag":false,"id":7,"name":"东关中学","score":2.5}'
    )
    assert row_digest(TABLE, row()) == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(
    "change",
    [
        {"name": "东关小学"},
        {"at": AT + timedelta(microseconds=1)},
        {"day": date(2026, 12, 1)},
        {"score": 2.25},
        {"flag": True},
        {"data": b"\x00\xfe"},
        {"id": 8},
        {"name": None},  # a value removed
    ],
)
def test_any_change_changes_the_digest(change: dict[str, Any]) -> None:
    assert row_digest(TABLE, row(**change)) != row_digest(TABLE, row())


def test_nulls_and_missing_columns_are_the_same() -> None:
    """A column added later (NULL in old rows) leaves old digests valid."""
    without = {k: v for k, v in row().items() if k != "data"}
    assert row_digest(TABLE, row(data=None)) == row_digest(TABLE, without)


LINK = {
    "seq": 3,
    "table_name": "alarms",
    "row_id": 12,
    "action": "insert",
    "digest": "ab" * 32,
    "actor": "inspector",
    "recorded_at": AT,
}


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 4},
        {"table_name": "events"},
        {"row_id": 13},
        {"action": "update"},
        {"digest": "cd" * 32},
        {"actor": "gateway"},
        {"recorded_at": AT + timedelta(microseconds=1)},
    ],
)
def test_every_field_is_in_the_link(change: dict[str, Any]) -> None:
    assert link_hash(GENESIS, **{**LINK, **change}) != link_hash(GENESIS, **LINK)  # type: ignore[arg-type]


@given(st.text(alphabet="0123456789abcdef", min_size=64, max_size=64))
def test_the_link_depends_on_the_entry_before(prev: str) -> None:
    if prev != GENESIS:
        assert link_hash(prev, **LINK) != link_hash(GENESIS, **LINK)  # type: ignore[arg-type]


ROWS = st.fixed_dictionaries(
    {},
    optional={
        "id": st.integers(min_value=-(2**63), max_value=2**63 - 1),
        "name": st.text(),  # any text: quotes, control characters, surrogates' neighbours
        "at": st.datetimes(timezones=st.timezones(), allow_imaginary=False).filter(
            lambda at: at.tzinfo is not None and at.utcoffset() is not None
        ),
        "day": st.dates(),
        "score": st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**6), 10**6),
        "flag": st.booleans() | st.sampled_from([0, 1]),
        "data": st.binary(max_size=64),
    },
)


@given(ROWS)
def test_the_fast_digest_is_the_canonical_text_s(values: dict[str, Any]) -> None:
    """`row_digest` writes its text member by member; `canonical_text` is the definition
    (json.dumps of the canonical values). They must agree on every row."""
    expected = hashlib.sha256(canonical_text(TABLE, values).encode()).hexdigest()
    assert row_digest(TABLE, values) == expected


def test_a_listing_is_pinned_and_in_id_order() -> None:
    a, b = "ab" * 32, "cd" * 32
    text = listing([(12, b), (3, a)])
    assert text == f"3:{a},12:{b}"
    assert listing_digest(text) == hashlib.sha256(text.encode()).hexdigest()
    assert parse_listing(text) == [(3, a), (12, b)]


@pytest.mark.parametrize(
    "text",
    ["", "3", "3:abc", f"x:{'ab' * 32}", f"3:{'ab' * 32};4:{'cd' * 32}", f"3:{'ab' * 32},"],
)
def test_a_malformed_listing_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_listing(text)
