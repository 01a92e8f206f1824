"""The month's alarm tests per button, for the report and the calendar: the monthly rule
(`judge_button_month`, with the settings `judge_month` gives it) over one read of the tests
with their police receipts (alarms joined to their deliveries). `judge_month` itself loads
the stored rows too, for the API that shows them; a city's month has some 8,000 tests, and
loading them as ORM objects, with their deliveries asked for by a list of every test's key,
took a second and more."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.alarm_tests import (
    ButtonMonth,
    Receipt,
    TestRecord,
    judge_button_month,
    month_window,
)
from gateway.domain import AlarmKind
from gateway.reports.days import selected_schools
from gateway.settings import Settings
from gateway.storage.models import Alarm, PoliceDelivery

__all__ = ["judge_buttons", "test_records"]

ALARMS = cast(Table, Alarm.__table__)
DELIVERIES = cast(Table, PoliceDelivery.__table__)
ButtonKey = tuple[str, str]  # school id, button id


async def test_records(
    session: AsyncSession, *, start: datetime, end: datetime, school_ids: Sequence[str] | None
) -> dict[ButtonKey, list[TestRecord]]:
    """Per button, its tests pressed in [start, end) in time order, each with the receipts of
    its deliveries (by endpoint), as `StoredTest.record` makes them."""
    a, d = ALARMS.c, DELIVERIES.c
    query = (
        select(
            a.id,
            a.school_id,
            a.device_id,
            a.alarm_id,
            a.occurred_at,
            a.received_at,
            d.endpoint_id,
            d.acknowledged_at,
            d.latency_s,
        )
        .select_from(ALARMS.outerjoin(DELIVERIES, d.alarm_pk == a.id))
        .where(a.kind == AlarmKind.TEST.value, a.occurred_at >= start, a.occurred_at < end)
        .order_by(a.occurred_at, a.id, d.endpoint_id)
    )
    if school_ids is not None:
        query = query.where(a.school_id.in_(school_ids))
    tests: dict[int, tuple[ButtonKey, str, datetime, datetime]] = {}
    receipts: dict[int, list[Receipt]] = defaultdict(list)
    for row in await session.execute(query):
        tests.setdefault(
            row.id, ((row.school_id, row.device_id), row.alarm_id, row.occurred_at, row.received_at)
        )
        if row.endpoint_id is not None:
            # A clock stepped back under a delivery must not make the record unreadable.
            latency = None if row.latency_s is None else max(0.0, row.latency_s)
            receipts[row.id].append(Receipt(row.endpoint_id, row.acknowledged_at, latency))
    found: dict[ButtonKey, list[TestRecord]] = defaultdict(list)
    for pk, (key, alarm_id, occurred_at, received_at) in tests.items():
        found[key].append(TestRecord(alarm_id, occurred_at, received_at, tuple(receipts[pk])))
    return dict(found)


async def judge_buttons(
    session: AsyncSession,
    settings: Settings,
    *,
    month: date,
    now: datetime,
    school_ids: Sequence[str] | None,
) -> list[tuple[str, ButtonMonth]]:
    """(school id, month) of every button of the schools, in configuration order: what
    `judge_month` judges, without the stored rows."""
    zone = settings.gateway.zone
    start, end = month_window(month, zone)
    records = await test_records(session, start=start, end=end, school_ids=school_ids)
    rules = settings.rules
    return [
        (
            school.id,
            judge_button_month(
                records.get((school.id, button.id), []),
                month=month,
                tz=zone,
                now=now,
                required=rules.alarm_tests_per_month,
                pending_s=settings.linkage.escalation_s,
                remind_days=rules.alarm_test_reminder_days,
            ),
        )
        for school in selected_schools(settings, school_ids)
        for button in school.alarm_buttons
    ]
