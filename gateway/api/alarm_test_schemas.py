"""Bodies of the alarm-test API. Times are RFC 3339 in the site's time zone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway.alarmtests.queries import ButtonTests
from gateway.api.free_text import FreeText
from gateway.api.request_model import RequestModel
from gateway.compliance.alarm_tests import JudgedTest, TestResult
from gateway.storage.models import TestNotice

Name = Field(min_length=1, max_length=64)


class NoticeIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    school: str = Field(min_length=1, max_length=64)
    button: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime | None = Field(None, description="Start of the window (default: now)")
    window_minutes: int = Field(30, ge=5, le=240, description="How long the press is awaited")
    police_officer: str = Field(min_length=1, max_length=64, description="民警: who tests")
    bureau_staff: str = Field(min_length=1, max_length=64, description="教育部门: who tests")
    note: FreeText | None = Field(None, max_length=500)


class TestersIn(RequestModel):
    model_config = ConfigDict(extra="forbid")

    police_officer: str = Field(min_length=1, max_length=64)
    bureau_staff: str = Field(min_length=1, max_length=64)
    note: FreeText | None = Field(None, max_length=500)


class NoticeOut(BaseModel):
    notice_id: str
    school_id: str
    button_id: str
    opened_by: str
    opened_at: datetime
    window_start: datetime
    window_end: datetime
    police_officer: str | None
    bureau_staff: str | None
    note: str | None
    state: str = Field(description="open, answered (the press came), expired or cancelled")

    @classmethod
    def of(cls, notice: TestNotice, zone: ZoneInfo, now: datetime) -> NoticeOut:
        if notice.cancelled_at is not None:
            state = "cancelled"
        elif notice.alarm_pk is not None:
            state = "answered"
        elif notice.window_end < now:
            state = "expired"
        else:
            state = "open"
        return cls(
            notice_id=notice.notice_id,
            school_id=notice.school_id,
            button_id=notice.button_id,
            opened_by=notice.opened_by,
            opened_at=notice.opened_at.astimezone(zone),
            window_start=notice.window_start.astimezone(zone),
            window_end=notice.window_end.astimezone(zone),
            police_officer=notice.police_officer,
            bureau_staff=notice.bureau_staff,
            note=notice.note,
            state=state,
        )


class ReceiptOut(BaseModel):
    endpoint_id: str
    acknowledged_at: datetime | None
    latency_s: float | None = Field(description="From the press reaching the gateway")
    attempts: int


class TestOut(BaseModel):
    alarm_id: str
    occurred_at: datetime = Field(description="The press (device time)")
    received_at: datetime
    result: TestResult = Field(description="passed: a police receipt is on record")
    receipt_latency_s: float | None
    receipts: list[ReceiptOut]
    notice_id: str | None = Field(description="The advance notice (报备) it answered")
    police_officer: str | None
    bureau_staff: str | None
    note: str | None


class AlarmTestMonthOut(BaseModel):
    school_id: str
    school_name: str
    button_id: str
    location: str
    zone: int
    month: str = Field(description="YYYY-MM")
    window_start: datetime
    window_end: datetime
    complete: bool = Field(description="False while the month runs: the figures are so far")
    required: int
    passed: int
    compliant: bool
    days_left: int
    due_soon: bool = Field(description="Not tested yet and the month ends within the reminder")
    overdue: bool = Field(description="The month ended without enough passed tests")
    tests: list[TestOut]

    @classmethod
    def of(cls, item: ButtonTests, zone: ZoneInfo) -> AlarmTestMonthOut:
        month = item.month
        return cls(
            school_id=item.school.id,
            school_name=item.school.name,
            button_id=item.button.id,
            location=item.button.location,
            zone=item.button.zone,
            month=f"{month.month:%Y-%m}",
            window_start=month.window_start.astimezone(zone),
            window_end=month.window_end.astimezone(zone),
            complete=month.complete,
            required=month.required,
            passed=month.passed,
            compliant=month.compliant,
            days_left=month.days_left,
            due_soon=month.due_soon,
            overdue=month.overdue,
            tests=[_test(judged, item, zone) for judged in month.tests],
        )


def _test(judged: JudgedTest, item: ButtonTests, zone: ZoneInfo) -> TestOut:
    stored = item.stored[judged.record.alarm_id]
    notice = stored.notice
    return TestOut(
        alarm_id=stored.alarm.alarm_id,
        occurred_at=stored.alarm.occurred_at.astimezone(zone),
        received_at=stored.alarm.received_at.astimezone(zone),
        result=judged.result,
        receipt_latency_s=judged.receipt_latency_s,
        receipts=[
            ReceiptOut(
                endpoint_id=d.endpoint_id,
                acknowledged_at=None
                if d.acknowledged_at is None
                else d.acknowledged_at.astimezone(zone),
                latency_s=d.latency_s,
                attempts=d.attempts,
            )
            for d in stored.deliveries
        ],
        notice_id=stored.alarm.notice_id,
        police_officer=notice.police_officer if notice else None,
        bureau_staff=notice.bureau_staff if notice else None,
        note=notice.note if notice else None,
    )
