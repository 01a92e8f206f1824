"""Reading the month's tests back: each test alarm with its police receipts and its notice
(the testers), judged per button with the monthly rule."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.compliance.alarm_tests import (
    ButtonMonth,
    Receipt,
    TestRecord,
    judge_button_month,
    month_window,
)
from gateway.domain import AlarmKind
from gateway.settings import AlarmButton, School, Settings
from gateway.storage.models import Alarm, PoliceDelivery, TestNotice

KEYS_PER_QUERY = 5_000


@dataclass(frozen=True, slots=True)
class StoredTest:
    alarm: Alarm
    deliveries: tuple[PoliceDelivery, ...]
    notice: TestNotice | None

    def record(self) -> TestRecord:
        return TestRecord(
            alarm_id=self.alarm.alarm_id,
            occurred_at=self.alarm.occurred_at,
            received_at=self.alarm.received_at,
            receipts=tuple(
                # A clock stepped back under a delivery must not make the record unreadable.
                Receipt(
                    d.endpoint_id,
                    d.acknowledged_at,
                    None if d.latency_s is None else max(0.0, d.latency_s),
                )
                for d in self.deliveries
            ),
        )


@dataclass(frozen=True, slots=True)
class ButtonTests:
    school: School
    button: AlarmButton
    month: ButtonMonth
    stored: dict[str, StoredTest]  # by alarm id


async def tests_between(
    session: AsyncSession, *, start: datetime, end: datetime, school_ids: Sequence[str] | None
) -> list[StoredTest]:
    """Test alarms pressed in [start, end), with their deliveries and notices."""
    query = select(Alarm).where(
        Alarm.kind == AlarmKind.TEST.value, Alarm.occurred_at >= start, Alarm.occurred_at < end
    )
    if school_ids is not None:
        query = query.where(Alarm.school_id.in_(school_ids))
    alarms = list((await session.scalars(query.order_by(Alarm.occurred_at, Alarm.id))).all())
    if not alarms:
        return []
    deliveries: dict[int, list[PoliceDelivery]] = defaultdict(list)
    notices: dict[int | None, TestNotice] = {}
    # In slices: a city's month has tens of thousands of tests, and a statement may carry
    # at most 32,767 parameters on asyncpg.
    for first in range(0, len(alarms), KEYS_PER_QUERY):
        pks = [a.id for a in alarms[first : first + KEYS_PER_QUERY]]
        for delivery in await session.scalars(
            select(PoliceDelivery)
            .where(PoliceDelivery.alarm_pk.in_(pks))
            .order_by(PoliceDelivery.endpoint_id)
        ):
            deliveries[delivery.alarm_pk].append(delivery)
        for notice in await session.scalars(select(TestNotice).where(TestNotice.alarm_pk.in_(pks))):
            notices[notice.alarm_pk] = notice
    return [StoredTest(a, tuple(deliveries[a.id]), notices.get(a.id)) for a in alarms]


async def judge_month(
    session: AsyncSession,
    settings: Settings,
    *,
    month: date,
    now: datetime,
    school_ids: Sequence[str] | None,
) -> list[ButtonTests]:
    """Every button of the schools, judged for the local month."""
    zone = settings.gateway.zone
    start, end = month_window(month, zone)
    stored = await tests_between(session, start=start, end=end, school_ids=school_ids)
    by_button: dict[tuple[str, str], list[StoredTest]] = defaultdict(list)
    for test in stored:
        by_button[(test.alarm.school_id, test.alarm.device_id)].append(test)
    result = []
    for school in settings.schools:
        if school_ids is not None and school.id not in school_ids:
            continue
        for button in school.alarm_buttons:
            tests = by_button.get((school.id, button.id), [])
            judged = judge_button_month(
                [t.record() for t in tests],
                month=month,
                tz=zone,
                now=now,
                required=settings.rules.alarm_tests_per_month,
                pending_s=settings.linkage.escalation_s,
                remind_days=settings.rules.alarm_test_reminder_days,
            )
            result.append(ButtonTests(school, button, judged, {t.alarm.alarm_id: t for t in tests}))
    return result
