"""A police delivery's lease (`claimed_by`, `claimed_until`) is scheduling state: rewritten
without a log entry, it is left out of the row's digest, and nothing else is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table

from gateway.audit.digest import canonical_text, row_digest
from gateway.storage.models import PoliceDelivery

DELIVERIES = cast(Table, PoliceDelivery.__table__)
AT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
ROW = {
    "id": 7,
    "alarm_pk": 3,
    "endpoint_id": "city-110",
    "lane": "s1/btn-1",
    "attempts": 1,
    "created_at": AT,
    "next_attempt_at": AT,
}


def test_a_lease_does_not_change_the_digest() -> None:
    leased = {**ROW, "claimed_by": "gw-a", "claimed_until": AT}
    assert row_digest(DELIVERIES, leased) == row_digest(DELIVERIES, ROW)
    assert canonical_text(DELIVERIES, leased) == canonical_text(DELIVERIES, ROW)
    assert "claimed" not in canonical_text(DELIVERIES, leased)


def test_the_record_still_does() -> None:
    assert row_digest(DELIVERIES, {**ROW, "attempts": 2}) != row_digest(DELIVERIES, ROW)
    acknowledged = {**ROW, "acknowledged_at": AT}
    assert row_digest(DELIVERIES, acknowledged) != row_digest(DELIVERIES, ROW)
