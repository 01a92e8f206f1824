"""The monthly report and the compliance calendar against a real database (SQLite and
PostgreSQL): a month of records written through the gateway's write paths (gate reports,
patrol scans, tests and emergencies with their police acknowledgements, hidden-danger
tickets with their steps, camera link alerts, guard trainings through the API), every figure
of the JSON report and of the calendar, across a month's edges in Asia/Shanghai; the roles,
the files and the exports on record.

The month judged is September 2026; every figure expected below follows from `seed` (its
comments say how)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from gateway.alerts import AlertKind
from gateway.audit.chain import audit_head
from gateway.audit.seal import seal_pending
from gateway.context import GatewayContext
from gateway.domain import Role, Transport
from gateway.hazards.tickets import HazardStage
from gateway.reports.figures import monthly_report
from gateway.reports.model import Indicator, Ratio, SchoolMonth
from gateway.settings import Settings, parse_settings
from tests.support import report_records as records
from tests.support.context import api_client, bearer, gateway_context

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "report-password-1"
DONGGUAN = "fy-dongguan-ms"  # 城关区: everything on record, some of it wrong
SHIYAN = "fy-shiyan-kg"  # no district: a staffed gate, no patrols, an old guard
XINHUA = "fy-xinhua-ps"  # 城关区: nothing configured but its name
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "inspector": (Role.INSPECTOR, None),
    "officer": (Role.POLICE, None),
    "guard-li": (Role.GUARD, DONGGUAN),
}


def local(text: str) -> datetime:
    """'2026-09-10 14:00' in Shanghai, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def site() -> Settings:
    return parse_settings(
        {
            "gateway": {"timezone": "Asia/Shanghai"},
            "patrol": {"keys": {1: "report-patrol-key-0123456789"}},
            "police": [
                {
                    "id": "city-110",
                    "kind": "webhook",
                    "url": "http://127.0.0.1:9/110",
                    "secret": "police-secret",
                },
                {
                    "id": "backup-110",
                    "kind": "webhook",
                    "url": "http://127.0.0.1:9/backup",
                    "secret": "police-secret",
                    "secondary": True,
                },
            ],
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "汾阳市东关中学",
                    "district": "城关区",
                    "day_pupils": 150,  # 2 guards from 100 pupils
                    "alarm_buttons": [
                        {
                            "id": "btn-north",
                            "location": "北门警务室",
                            "zone": 1,
                            "camera": "cam-north",
                        },
                        {"id": "btn-office", "location": "校长办公室", "zone": 2},
                    ],
                    "gates": [{"id": "gate-north", "name": "北门", "camera": "cam-gate"}],
                    "checkpoints": [
                        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
                        {"id": "cp-lib", "name": "图书馆"},
                    ],
                    "cameras": [
                        {"id": "cam-north", "url": "http://127.0.0.1:9/north.jpg"},
                        {"id": "cam-gate", "url": "http://127.0.0.1:9/gate.jpg"},
                    ],
                    "guards": [
                        {"id": "guard-li", "name": "李师傅", "birth_date": "1980-03-01"},
                        {"id": "guard-wang", "name": "王师傅", "birth_date": "1975-06-01"},
                    ],
                },
                {
                    "id": SHIYAN,
                    "name": "汾阳市实验幼儿园",
                    "day_pupils": 80,  # 1 guard under 100 pupils
                    "alarm_buttons": [{"id": "btn-gate", "location": "大门传达室", "zone": 1}],
                    "gates": [{"id": "gate-main", "name": "大门"}],
                    "checkpoints": [{"id": "cp-yard", "name": "操场", "key_area": True}],
                    "cameras": [{"id": "cam-yard", "url": "http://127.0.0.1:9/yard.jpg"}],
                    "guards": [{"id": "guard-sun", "name": "孙师傅", "birth_date": "1963-05-01"}],
                },
                {"id": XINHUA, "name": "汾阳市新华小学", "district": "城关区"},
            ],
        }
    )


ROUNDS = ("01:00", "06:00", "11:00", "16:00", "23:30")


async def seed(context: GatewayContext, http: httpx.AsyncClient) -> None:
    """The records; see each block for the figures they make."""
    # 东关中学's north gate: staffed from 31 August; 30 minutes empty on 10 September (a
    # breach); 5 minutes on the 15th (fine); 23:55 on the 30th to 00:10 on 1 October: one
    # absence of 15 minutes, judged whole, so both the 30th and the 1st break the rule.
    # September: 28 of 30 gate-days, 30 + 5 + 5 = 40 unstaffed minutes.
    await records.gate_reports(
        context,
        DONGGUAN,
        "gate-north",
        [
            (local("2026-08-31 12:00"), True),
            (local("2026-09-10 14:00"), False),
            (local("2026-09-15 03:00"), False),
            (local("2026-09-15 03:05"), True),
            (local("2026-09-30 23:55"), False),
            (local("2026-10-01 00:10"), True),
        ],
    )
    # The guard's check-in on the phone ends the first absence.
    await records.gate_reports(
        context, DONGGUAN, "gate-north", [(local("2026-09-10 14:30"), True)], Transport.API
    )
    # 实验幼儿园's gate: checked in on 1 August and never left: 30 of 30.
    await records.gate_reports(
        context, SHIYAN, "gate-main", [(local("2026-08-01 07:00"), True)], Transport.API
    )

    # The dormitory: 5 rounds a day (the last at 23:30 local, 15:30 UTC), but on the 20th
    # only 01:00, 06:00 and 11:00 count (06:30 is within the hour after 06:00): 29 of 30
    # days, 29 * 5 + 3 = 148 of 150 patrols. A round at 23:30 on 31 August is August's.
    times = [local(f"2026-08-31 {ROUNDS[-1]}")]
    for offset in range(30):
        day = date(2026, 9, 1) + timedelta(days=offset)
        rounds = ("01:00", "06:00", "06:30", "11:00") if day.day == 20 else ROUNDS
        times += [local(f"{day} {at}") for at in rounds]
    await records.scans(context, DONGGUAN, "cp-dorm", times, guard_id="guard-li")
    # A forged tag is kept as suspicious and counts for nothing; the library is no key area.
    await records.scans(
        context, DONGGUAN, "cp-dorm", [local("2026-09-20 16:00")], guard_id="guard-li", forged=True
    )
    await records.scans(
        context, DONGGUAN, "cp-lib", [local("2026-09-05 10:00")], guard_id="guard-li"
    )

    # Tests: btn-north's acknowledged (passed), btn-office's never (failed); btn-gate's passed.
    await records.alarm(
        context, DONGGUAN, "btn-north", local("2026-09-05 10:00"), test=True, ack_after_s=2
    )
    await records.alarm(context, DONGGUAN, "btn-office", local("2026-09-06 10:00"), test=True)
    await records.alarm(
        context, SHIYAN, "btn-gate", local("2026-09-03 10:00"), test=True, ack_after_s=1.5
    )
    # Emergencies: 23:30 UTC on 31 August is 07:30 on 1 September in Shanghai (September's);
    # 16:30 UTC on 30 September is 00:30 on 1 October (October's). September: 3 alarms, all
    # acknowledged (4 s, 10 s, and 90 s by the secondary after escalation at 60 s).
    await records.alarm(context, DONGGUAN, "btn-office", utc("2026-08-31 23:30"), ack_after_s=4)
    await records.alarm(context, DONGGUAN, "btn-north", local("2026-09-18 09:00"), ack_after_s=10)
    await records.alarm(
        context,
        DONGGUAN,
        "btn-north",
        local("2026-09-25 20:00"),
        escalate_after_s=60,
        ack_after_s=90,
    )
    await records.alarm(context, DONGGUAN, "btn-north", utc("2026-09-30 16:30"), ack_after_s=3)

    # Hidden dangers of 东关中学: September opens 2, closes 1; 2 open at its end, 1 overdue.
    assessed, assigned = HazardStage.ASSESSED, HazardStage.ASSIGNED
    controlled, fed_back = HazardStage.CONTROLLED, HazardStage.FED_BACK
    await records.ticket(  # August's, past its deadline of 5 September
        context,
        DONGGUAN,
        "gate-north",
        local("2026-08-20 12:00"),
        [
            (assessed, local("2026-08-20 13:00"), None),
            (assigned, local("2026-08-21 09:00"), local("2026-09-05 18:00")),
        ],
    )
    await records.ticket(  # opened and fed back in September
        context,
        DONGGUAN,
        "cp-dorm",
        local("2026-09-20 18:00"),
        [
            (assessed, local("2026-09-20 19:00"), None),
            (assigned, local("2026-09-21 09:00"), local("2026-09-25 18:00")),
            (controlled, local("2026-09-22 09:00"), None),
            (fed_back, local("2026-09-23 09:00"), None),
        ],
        kind=AlertKind.PATROL_OVERDUE,
    )
    await records.ticket(  # open at the end, due in October
        context,
        DONGGUAN,
        "cam-north",
        local("2026-09-29 10:00"),
        [(assigned, local("2026-09-29 11:00"), local("2026-10-10 18:00"))],
        kind=AlertKind.DEVICE_OFFLINE,
    )
    await records.ticket(  # October's
        context, DONGGUAN, "btn-office", local("2026-10-02 09:00"), kind=AlertKind.ALARM_TEST_DUE
    )

    # Cameras: the gate's was away two days and came back; the north one went offline on
    # the 29th and came back only on 3 October: offline at September's end.
    await records.camera_link(
        context, DONGGUAN, "cam-gate", local("2026-09-20 08:00"), online=False
    )
    await records.camera_link(context, DONGGUAN, "cam-gate", local("2026-09-22 08:00"), online=True)
    await records.camera_link(
        context, DONGGUAN, "cam-north", local("2026-09-29 09:55"), online=False
    )
    await records.camera_link(
        context, DONGGUAN, "cam-north", local("2026-10-03 09:00"), online=True
    )

    # Trainings, through the API: 李 this quarter; 王 last quarter (a reminder only) and
    # after the month (not counted for September).
    inspector = await bearer(http, "inspector", PASSWORD)
    for guard, day in (
        ("guard-li", "2026-08-15"),
        ("guard-wang", "2026-05-10"),
        ("guard-wang", "2026-10-05"),
    ):
        response = await http.post(
            f"/api/v1/guards/{DONGGUAN}/{guard}/trainings",
            json={"date": day, "topic": "应急处置"},
            headers=inspector,
        )
        assert response.status_code == 201, response.text


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(site(), engine, ACCOUNTS, PASSWORD) as ctx:
        yield ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        await seed(context, http)
        yield http


def ratio(done: int, required: int) -> dict[str, Any]:
    return {"done": done, "required": required, "value": done / required if required else None}


def indicators(full: bool, closed: bool, alarm: bool, video: bool) -> dict[str, bool]:
    return {
        "full_time_guards": full,
        "closed_management": closed,
        "alarm_networked": alarm,
        "video_networked": video,
    }


def area_indicators(*ratios: tuple[int, int]) -> dict[str, dict[str, Any]]:
    names = ("full_time_guards", "closed_management", "alarm_networked", "video_networked")
    return {name: ratio(*r) for name, r in zip(names, ratios, strict=True)}


NOTHING_ON_RECORD = {
    "tests_passed": 0,
    "tests_failed": 0,
    "alarms": 0,
    "alarms_acknowledged": 0,
    "alarms_escalated": 0,
    "ack_median_s": None,
    "ack_max_s": None,
    "hazards_opened": 0,
    "hazards_closed": 0,
    "hazards_open": 0,
}

SEPTEMBER_SCHOOLS: dict[str, dict[str, Any]] = {
    DONGGUAN: {
        "school_id": DONGGUAN,
        "school_name": "汾阳市东关中学",
        "district": "城关区",
        "day_pupils": 150,
        "guards": 2,
        "guards_full_time": 2,
        "guards_required": 2,
        "guards_over_age": 0,
        "guards_trained_this_quarter": 1,
        "gate_days": ratio(28, 30),
        "unstaffed_minutes": 40.0,
        "patrol_days": ratio(29, 30),
        "patrols": ratio(148, 150),
        "alarm_tests": ratio(1, 2),
        "tests_passed": 1,
        "tests_failed": 1,
        "alarms": 3,
        "alarms_acknowledged": 3,
        "alarms_escalated": 1,
        "police_ack": ratio(3, 3),
        "ack_median_s": 10.0,
        "ack_max_s": 90.0,
        "hazards_opened": 2,
        "hazards_closed": 1,
        "hazards_open": 2,
        "hazards_overdue": 1,
        "indicators": indicators(full=True, closed=False, alarm=True, video=False),
        "four_100": False,
    },
    SHIYAN: {
        "school_id": SHIYAN,
        "school_name": "汾阳市实验幼儿园",
        "district": None,
        "day_pupils": 80,
        "guards": 1,
        "guards_full_time": 1,
        "guards_required": 1,
        "guards_over_age": 1,  # 63
        "guards_trained_this_quarter": 0,
        "gate_days": ratio(30, 30),
        "unstaffed_minutes": 0.0,
        "patrol_days": ratio(0, 30),
        "patrols": ratio(0, 150),
        "alarm_tests": ratio(1, 1),
        **NOTHING_ON_RECORD,
        "tests_passed": 1,
        "police_ack": ratio(0, 0),
        "hazards_overdue": 0,
        # The yard's camera is attached to nothing the police would see.
        "indicators": indicators(full=False, closed=True, alarm=True, video=False),
        "four_100": False,
    },
    XINHUA: {
        "school_id": XINHUA,
        "school_name": "汾阳市新华小学",
        "district": "城关区",
        "day_pupils": None,
        "guards": 0,
        "guards_full_time": 0,
        "guards_required": 1,  # the least any school needs; its pupils are unknown
        "guards_over_age": 0,
        "guards_trained_this_quarter": 0,
        "gate_days": ratio(0, 0),
        "unstaffed_minutes": 0.0,
        "patrol_days": ratio(0, 0),
        "patrols": ratio(0, 0),
        "alarm_tests": ratio(0, 0),
        **NOTHING_ON_RECORD,
        "police_ack": ratio(0, 0),
        "hazards_overdue": 0,
        "indicators": indicators(full=False, closed=False, alarm=False, video=False),
        "four_100": False,
    },
}
CHENGGUAN = {  # 东关中学 and 新华小学
    "district": "城关区",
    "schools": 2,
    "guards": 2,
    "guards_full_time": 2,
    "guards_required": 3,
    "guards_over_age": 0,
    "gate_days": ratio(28, 30),
    "patrol_days": ratio(29, 30),
    "alarm_tests": ratio(1, 2),
    "tests_passed": 1,
    "tests_failed": 1,
    "alarms": 3,
    "alarms_acknowledged": 3,
    "alarms_escalated": 1,
    "ack_median_s": 10.0,
    "ack_max_s": 90.0,
    "hazards_opened": 2,
    "hazards_closed": 1,
    "hazards_open": 2,
    "indicators": area_indicators((1, 2), (0, 2), (1, 2), (0, 2)),
}
NO_DISTRICT = {  # 实验幼儿园
    "district": None,
    "schools": 1,
    "guards": 1,
    "guards_full_time": 1,
    "guards_required": 1,
    "guards_over_age": 1,
    "gate_days": ratio(30, 30),
    "patrol_days": ratio(0, 30),
    "alarm_tests": ratio(1, 1),
    **NOTHING_ON_RECORD,
    "tests_passed": 1,
    "indicators": area_indicators((0, 1), (1, 1), (1, 1), (0, 1)),
}
SITE_TOTAL = {
    "district": None,
    "schools": 3,
    "guards": 3,
    "guards_full_time": 3,
    "guards_required": 4,
    "guards_over_age": 1,
    "gate_days": ratio(58, 60),
    "patrol_days": ratio(29, 60),
    "alarm_tests": ratio(2, 3),
    "tests_passed": 2,
    "tests_failed": 1,
    "alarms": 3,
    "alarms_acknowledged": 3,
    "alarms_escalated": 1,
    # Over the alarms: 4, 10 and 90 s (the other schools had none).
    "ack_median_s": 10.0,
    "ack_max_s": 90.0,
    "hazards_opened": 2,
    "hazards_closed": 1,
    "hazards_open": 2,
    "indicators": area_indicators((1, 3), (1, 3), (2, 3), (0, 3)),
}


async def test_every_figure_of_the_september_report(
    context: GatewayContext, client: httpx.AsyncClient
) -> None:
    while await context.writer.run(seal_pending):
        pass
    async with context.sessions() as session:
        head = await audit_head(session)
    assert head is not None
    response = await client.get(
        "/api/v1/reports/monthly",
        params={"month": "2026-09"},
        headers=await bearer(client, "inspector", PASSWORD),
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["month"], report["timezone"]) == ("2026-09", "Asia/Shanghai")
    assert report["generated_at"].endswith("+08:00")
    # The log's head when the report was made (nothing was sealed since).
    assert report["audit_head"] == {"seq": head.seq, "hash": head.hash}
    assert {s["school_id"]: s for s in report["schools"]} == SEPTEMBER_SCHOOLS
    assert [s["school_id"] for s in report["schools"]] == [DONGGUAN, SHIYAN, XINHUA]
    assert report["districts"] == [CHENGGUAN, NO_DISTRICT]
    assert report["total"] == SITE_TOTAL


def school_of(report_schools: tuple[SchoolMonth, ...], school_id: str) -> SchoolMonth:
    return next(s for s in report_schools if s.school_id == school_id)


async def test_the_months_either_side_and_a_month_so_far(
    context: GatewayContext, client: httpx.AsyncClient
) -> None:
    settings = context.settings
    async with context.sessions() as session:
        august = await monthly_report(session, settings, "2026-08", now=utc("2026-11-20 00:00"))
        # 12:00 on 4 October in Shanghai: October's 1st to 3rd are judged.
        october = await monthly_report(session, settings, "2026-10", now=utc("2026-10-04 04:00"))
        # 20:00 on 15 September: the 1st to the 14th.
        mid = await monthly_report(session, settings, "2026-09", now=utc("2026-09-15 12:00"))

    aug = school_of(august.schools, DONGGUAN)
    assert aug.alarms == 0  # 23:30 UTC on 31 August was September in Shanghai
    assert (aug.patrol_days, aug.patrols) == (Ratio(0, 31), Ratio(1, 155))  # the 23:30 round
    assert aug.alarm_tests == Ratio(0, 2)
    # Opened in August, its deadline (5 September) not yet passed at August's end.
    assert (aug.hazards_opened, aug.hazards_open, aug.hazards_overdue) == (1, 1, 0)

    oct_ = school_of(october.schools, DONGGUAN)
    # The absence from 23:55 on 30 September breaks 1 October too; 10 minutes of it fall
    # in October.
    assert (oct_.gate_days, oct_.unstaffed_minutes) == (Ratio(2, 3), 10.0)
    assert (oct_.alarms, oct_.alarms_acknowledged, oct_.ack_median_s) == (1, 1, 3.0)
    assert (oct_.patrol_days, oct_.patrols) == (Ratio(0, 3), Ratio(0, 15))
    assert (oct_.hazards_opened, oct_.hazards_closed) == (1, 0)
    assert (oct_.hazards_open, oct_.hazards_overdue) == (3, 1)
    assert oct_.guards_trained_this_quarter == 0  # 王's session on the 5th is after the 3rd
    assert oct_.indicators == {
        Indicator.FULL_TIME_GUARDS: True,
        Indicator.CLOSED_MANAGEMENT: False,
        Indicator.ALARM_NETWORKED: False,  # nothing from btn-office reached the police
        Indicator.VIDEO_NETWORKED: True,  # cam-north came back on the 3rd
    }

    sep = school_of(mid.schools, DONGGUAN)
    assert (sep.gate_days, sep.unstaffed_minutes) == (Ratio(13, 14), 30.0)
    assert (sep.patrol_days, sep.patrols) == (Ratio(14, 14), Ratio(70, 70))
    assert (sep.alarm_tests, sep.tests_passed, sep.tests_failed) == (Ratio(1, 2), 1, 1)
    assert (sep.alarms, sep.ack_median_s, sep.ack_max_s) == (1, 4.0, 4.0)
    # The patrol ticket of the 20th is not yet opened; August's is overdue.
    assert (sep.hazards_opened, sep.hazards_closed) == (0, 0)
    assert (sep.hazards_open, sep.hazards_overdue) == (1, 1)
    assert sep.indicators == {
        Indicator.FULL_TIME_GUARDS: True,
        Indicator.CLOSED_MANAGEMENT: False,
        Indicator.ALARM_NETWORKED: True,
        Indicator.VIDEO_NETWORKED: True,  # no camera had gone offline by the 14th
    }
    assert mid.total.alarms == 1


FILES = {
    "csv": ("text/csv; charset=utf-8", b"\xef\xbb\xbf"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    "pdf": ("application/pdf", b"%PDF"),
}


async def test_who_may_take_the_report_in_which_format_and_the_exports_on_record(
    context: GatewayContext, client: httpx.AsyncClient
) -> None:
    inspector = await bearer(client, "inspector", PASSWORD)
    officer = await bearer(client, "officer", PASSWORD)
    guard = await bearer(client, "guard-li", PASSWORD)
    url = "/api/v1/reports/monthly"

    refused = await client.get(url, params={"month": "2026-09"}, headers=guard)
    assert refused.status_code == 403
    assert "role guard may not use this" in refused.json()["detail"]
    assert (await client.get(url, params={"month": "2026-09"})).status_code == 401
    police = await client.get(url, params={"month": "2026-09"}, headers=officer)
    assert police.status_code == 200
    assert police.json()["total"]["schools"] == 3

    for name, (media_type, magic) in FILES.items():
        response = await client.get(
            url, params={"month": "2026-09", "format": name}, headers=inspector
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type
        assert response.headers["content-disposition"] == (
            f'attachment; filename="campus-report-2026-09.{name}"'
        )
        assert response.content.startswith(magic)
    csv_text = (
        await client.get(url, params={"month": "2026-09", "format": "csv"}, headers=officer)
    ).content.decode("utf-8-sig")
    assert "汾阳市东关中学" in csv_text

    for params, message in (
        ({"month": "2026-13"}, "the month must be 01 to 12"),
        ({"month": "September"}, "expected YYYY-MM"),
        ({"month": "2099-01"}, "2099-01 has not begun yet in Asia/Shanghai"),
        ({"month": "2026-09", "format": "docx"}, "'json', 'csv', 'xlsx' or 'pdf'"),
    ):
        bad = await client.get(url, params=params, headers=inspector)
        assert bad.status_code == 422, params
        detail = bad.json()["detail"][0]
        assert message in detail["msg"], detail
        assert detail["loc"][-1] in ("month", "format")

    assert await records.recorded_exports(context) == [
        ("officer", "police", "monthly:2026-09:json"),
        ("inspector", "inspector", "monthly:2026-09:csv"),
        ("inspector", "inspector", "monthly:2026-09:xlsx"),
        ("inspector", "inspector", "monthly:2026-09:pdf"),
        ("officer", "police", "monthly:2026-09:csv"),
    ]


def day_cell(done: int, required: int) -> dict[str, int]:
    return {"done": done, "required": required}


async def test_the_september_calendar(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/v1/compliance/calendar",
        params={"month": "2026-09"},
        headers=await bearer(client, "inspector", PASSWORD),
    )
    assert response.status_code == 200, response.text
    schools = {s["school"]: s for s in response.json()}
    assert list(schools) == [DONGGUAN, SHIYAN, XINHUA]
    dongguan = schools[DONGGUAN]
    assert (dongguan["name"], dongguan["district"]) == ("汾阳市东关中学", "城关区")
    assert dongguan["alarm_tests"] == day_cell(1, 2)
    emergencies = {1: 1, 18: 1, 25: 1}  # 1st: 23:30 UTC on 31 August
    assert dongguan["days"] == [
        {
            "date": f"2026-09-{n:02d}",
            "gate": day_cell(0 if n in (10, 30) else 1, 1),
            "patrols": day_cell(0 if n == 20 else 1, 1),
            "alarms": emergencies.get(n, 0),
            "partial": False,
        }
        for n in range(1, 31)
    ]
    shiyan = schools[SHIYAN]
    assert (shiyan["district"], shiyan["alarm_tests"]) == (None, day_cell(1, 1))
    assert {(d["gate"]["done"], d["patrols"]["done"], d["alarms"]) for d in shiyan["days"]} == {
        (1, 0, 0)
    }
    xinhua = schools[XINHUA]
    assert xinhua["alarm_tests"] == day_cell(0, 0)
    assert {(d["gate"], d["patrols"]) for d in xinhua["days"]} == {(None, None)}
    assert len(xinhua["days"]) == 30


async def test_the_calendar_so_far_and_who_sees_which_school(client: httpx.AsyncClient) -> None:
    url = "/api/v1/compliance/calendar"
    guard = await bearer(client, "guard-li", PASSWORD)
    today = datetime.now(UTC).astimezone(SHANGHAI).date()
    own = await client.get(url, headers=guard)
    assert own.status_code == 200, own.text
    (school,) = own.json()
    assert school["school"] == DONGGUAN
    days = school["days"]
    assert [d["date"] for d in days] == [
        (today.replace(day=1) + timedelta(days=n)).isoformat() for n in range(today.day)
    ]
    assert [d["partial"] for d in days] == [False] * (today.day - 1) + [True]

    other = await client.get(url, params={"school": SHIYAN}, headers=guard)
    assert other.status_code == 403
    unknown = await client.get(url, params={"school": "nowhere"}, headers=guard)
    assert unknown.status_code == 422
    officer = await bearer(client, "officer", PASSWORD)
    one = await client.get(url, params={"school": SHIYAN, "month": "2026-09"}, headers=officer)
    assert [s["school"] for s in one.json()] == [SHIYAN]
    for month, message in (("2099-01", "has not begun yet"), ("2026-9", "expected YYYY-MM")):
        bad = await client.get(url, params={"month": month}, headers=officer)
        assert bad.status_code == 422
        assert message in bad.json()["detail"][0]["msg"]
    assert date.fromisoformat(days[-1]["date"]) == today
