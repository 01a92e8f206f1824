"""The patrol API against a real database (SQLite and PostgreSQL): scans from the phone,
forged and replayed tags kept as suspicious, late wand uploads (JSON and CSV) counted at their
scan time, the day judged by the compliance API, and the guard's due list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from drivers.camera.qr_photo_ops import encode_jpeg
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.patrol.tokens import sign_tag
from gateway.settings import Settings, parse_settings
from simulators.patrol import forge
from simulators.qr_photos import TYPICAL, render_qr_photo
from tests.support.context import api_client, gateway_context
from tests.support.context import bearer as support_bearer

PASSWORD = "correct-horse-battery"
DONGGUAN = "fy-dongguan-ms"
SHIYAN = "fy-shiyan-kg"
SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY = "patrol-key-for-tests-0123"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "admin": (Role.ADMIN, None),
    "police": (Role.POLICE, None),
    "inspector": (Role.INSPECTOR, None),
    "guard-li": (Role.GUARD, DONGGUAN),
    "guard-sun": (Role.GUARD, SHIYAN),
    "guard-nobody": (Role.GUARD, DONGGUAN),  # an account, but not on the school's guard list
}


def site(keys: dict[int, str] | None = None) -> Settings:
    return parse_settings(
        {
            "gateway": {"database_url": "sqlite+aiosqlite:///unused.db"},
            "patrol": {
                "keys": keys or {1: KEY},
                "round_times": ["02:00", "08:00", "12:00", "16:00", "20:00"],
            },
            "schools": [
                {
                    "id": DONGGUAN,
                    "name": "汾阳市东关中学",
                    "checkpoints": [
                        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
                        {"id": "cp-power", "name": "配电房", "key_area": True},
                        {"id": "cp-yard", "name": "操场"},
                    ],
                    "guards": [
                        {"id": "guard-li", "name": "李师傅"},
                        {"id": "guard-wang", "name": "王师傅"},
                    ],
                },
                {
                    "id": SHIYAN,
                    "name": "汾阳市实验幼儿园",
                    "checkpoints": [{"id": "cp-kitchen", "name": "厨房", "key_area": True}],
                    "guards": [{"id": "guard-sun", "name": "孙师傅"}],
                },
            ],
            "rules": {"patrols_per_day": 5, "patrol_min_spacing_s": 3600},
        }
    )


SETTINGS = site()
DORM = sign_tag(SETTINGS.patrol, DONGGUAN, "cp-dorm")
POWER = sign_tag(SETTINGS.patrol, DONGGUAN, "cp-power")
KITCHEN = sign_tag(SETTINGS.patrol, SHIYAN, "cp-kitchen")


def yesterday() -> date:
    return datetime.now(SHANGHAI).date() - timedelta(days=1)


def local(hour: int, minute: int = 0, day: date | None = None) -> str:
    day = day or yesterday()
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).isoformat()


@pytest.fixture
async def context(engine: AsyncEngine) -> AsyncIterator[GatewayContext]:
    async with gateway_context(SETTINGS, engine, ACCOUNTS, PASSWORD) as ctx:
        yield ctx


@pytest.fixture
async def client(context: GatewayContext) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(context) as http:
        yield http


async def bearer(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    return await support_bearer(client, username, PASSWORD)


async def scan(client: httpx.AsyncClient, user: str, **body: Any) -> httpx.Response:
    return await client.post("/api/v1/patrols/scans", json=body, headers=await bearer(client, user))


async def patrols(client: httpx.AsyncClient, user: str, **params: Any) -> dict[str, Any]:
    response = await client.get(
        "/api/v1/compliance/patrols", params=params, headers=await bearer(client, user)
    )
    assert response.status_code == 200, response.text
    return {item["checkpoint_id"]: item for item in response.json()}


async def test_a_phone_scan_counts_and_a_resent_one_is_recorded_once(
    client: httpx.AsyncClient,
) -> None:
    first = await scan(client, "guard-li", tag=DORM, id="s-1")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["accepted"] is True
    assert (body["checkpoint_id"], body["checkpoint_name"]) == ("cp-dorm", "宿舍楼")
    assert (body["guard_id"], body["source"], body["message"]) == (
        "guard-li",
        "phone",
        "巡查已记录",
    )
    again = await scan(client, "guard-li", tag=DORM, id="s-1")
    assert again.status_code == 200
    assert again.json()["already_recorded"] is True
    assert again.json()["id"] == body["id"]
    today = await patrols(client, "guard-li")
    assert today["cp-dorm"]["patrols"] == 1
    assert len(today["cp-dorm"]["scans"]) == 1
    assert today["cp-dorm"]["complete"] is False


@pytest.mark.parametrize(
    ("user", "body", "reason"),
    [
        pytest.param(
            "guard-li",
            {"tag": DORM[:-1] + ("A" if DORM[-1] != "A" else "B")},
            "forged_tag",
            id="forged",
        ),
        pytest.param(
            "guard-li",
            {"tag": "cg1:fy-dongguan-ms:cp-dorm:1:" + "A" * 22},
            "forged_tag",
            id="made-up",
        ),
        pytest.param(
            "guard-li", {"tag": "https://example.com/not-ours"}, "unknown_tag", id="foreign-qr"
        ),
        pytest.param("guard-li", {"tag": KITCHEN}, "wrong_school", id="other-school"),
        pytest.param("guard-nobody", {"tag": DORM}, "unknown_guard", id="unknown-guard"),
        pytest.param(
            "admin", {"tag": DORM, "guard": "zhang-san"}, "unknown_guard", id="admin-unknown"
        ),
        pytest.param(
            "guard-li",
            {
                "tag": sign_tag(
                    site({1: KEY, 2: "a-new-key-0123456789"}).patrol, DONGGUAN, "cp-dorm", 2
                )
            },
            "revoked_key",
            id="key-not-configured",
        ),
    ],
)
async def test_a_scan_that_proves_nothing_is_kept_as_suspicious(
    client: httpx.AsyncClient, user: str, body: dict[str, Any], reason: str
) -> None:
    response = await scan(client, user, **body)
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] is False
    assert response.json()["reason"] == reason
    listed = await client.get(
        "/api/v1/patrols/scans",
        params={"school": DONGGUAN, "accepted": "false"},
        headers=await bearer(client, "inspector"),
    )
    assert [s["reason"] for s in listed.json()] == [reason]
    assert (await patrols(client, "inspector", school=DONGGUAN))["cp-dorm"]["patrols"] == 0


async def test_the_same_guard_at_the_same_point_moments_later_is_a_duplicate(
    client: httpx.AsyncClient,
) -> None:
    at = datetime.now(UTC) - timedelta(minutes=5)
    first = await scan(client, "guard-li", tag=DORM, at=at.isoformat())
    second = await scan(client, "guard-li", tag=DORM, at=(at + timedelta(seconds=20)).isoformat())
    other = await scan(client, "guard-li", tag=POWER, at=(at + timedelta(seconds=20)).isoformat())
    assert first.json()["accepted"] is True
    assert second.json()["reason"] == "duplicate"
    assert other.json()["accepted"] is True


async def test_a_late_wand_upload_counts_at_its_scan_times(client: httpx.AsyncClient) -> None:
    # Yesterday at the dormitory: 6 walks, two of them 30 minutes apart (one patrol), one
    # forged tag, and the power room only twice.
    records = [
        {"guard": "guard-li", "tag": DORM, "at": local(h, m)}
        for h, m in [(2, 5), (7, 50), (8, 20), (12, 10), (16, 0), (20, 30)]
    ] + [
        {"guard": "guard-wang", "tag": POWER, "at": local(2, 10)},
        {"guard": "guard-wang", "tag": POWER, "at": local(12, 15)},
        {"guard": "guard-wang", "tag": POWER[:-2] + "zz", "at": local(16, 5)},
    ]
    headers = await bearer(client, "guard-li")
    response = await client.post(
        "/api/v1/patrols/uploads", json={"device": "wand-7", "records": records}, headers=headers
    )
    assert response.status_code == 200, response.text
    summary = response.json()
    assert (summary["received"], summary["accepted"], summary["refused"]) == (9, 8, 1)
    assert summary["results"][8]["reason"] == "forged_tag"
    again = await client.post(
        "/api/v1/patrols/uploads", json={"device": "wand-7", "records": records}, headers=headers
    )
    assert again.json()["already_recorded"] == 9

    day = await patrols(client, "inspector", date=yesterday().isoformat(), school=DONGGUAN)
    dorm, power = day["cp-dorm"], day["cp-power"]
    assert dorm["complete"] is True
    assert dorm["patrols"] == 5  # 07:50 and 08:20 are one patrol (less than an hour apart)
    assert dorm["compliant"] is True
    assert [p["scanned_at"][11:16] for p in dorm["counted"]] == [
        "02:05",
        "07:50",
        "12:10",
        "16:00",
        "20:30",
    ]
    assert all(p["source"] == "upload" for p in dorm["counted"])
    assert [r["status"] for r in dorm["rounds"]] == ["done"] * 5
    assert power["patrols"] == 2
    assert power["compliant"] is False
    assert power["remaining"] == 3
    assert [r["status"] for r in power["rounds"]] == [
        "done",
        "overdue",
        "done",
        "overdue",
        "overdue",
    ]
    assert [s["reason"] for s in power["scans"]] == [None, None, "forged_tag"]
    assert day["cp-dorm"]["scans"][0]["received_at"] > day["cp-dorm"]["scans"][0]["scanned_at"]
    assert "cp-yard" not in day  # not a key area: not judged


async def test_a_csv_upload_and_its_errors(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "guard-li")
    good = f"guard,tag,at\nguard-li,{DORM},{local(9)}\nguard-li,{DORM},{local(11)}\n"
    response = await client.post(
        "/api/v1/patrols/uploads/csv",
        files={"file": ("wand.csv", good, "text/csv")},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    bad_header = await client.post(
        "/api/v1/patrols/uploads/csv",
        files={"file": ("wand.csv", "who,what\nx,y\n", "text/csv")},
        headers=headers,
    )
    assert bad_header.status_code == 422
    assert "guard,tag,at" in bad_header.json()["detail"][0]["msg"]
    bad_line = await client.post(
        "/api/v1/patrols/uploads/csv",
        files={"file": ("wand.csv", f"guard,tag,at\nguard-li,{DORM},yesterday\n", "text/csv")},
        headers=headers,
    )
    assert bad_line.status_code == 422
    assert bad_line.json()["detail"][0]["msg"].startswith("line 2: at:")
    # A carriage return inside an unquoted field (found by schemathesis): a 422, not a 500.
    not_csv = await client.post(
        "/api/v1/patrols/uploads/csv",
        files={"file": ("wand.csv", "w\r\x04", "text/csv")},
        headers=headers,
    )
    assert not_csv.status_code == 422, not_csv.text
    assert "guard,tag,at" in not_csv.json()["detail"][0]["msg"]
    # Windows line ends, as a wand's software on a PC writes them, are read as usual.
    windows = good.replace("\n", "\r\n")
    crlf = await client.post(
        "/api/v1/patrols/uploads/csv",
        files={"file": ("wand.csv", windows, "text/csv")},
        headers=headers,
    )
    assert crlf.status_code == 200, crlf.text
    old = (datetime.now(SHANGHAI) - timedelta(days=30)).isoformat()
    too_old = await client.post(
        "/api/v1/patrols/uploads",
        json={
            "records": [
                {"guard": "guard-li", "tag": DORM, "at": old},
                {"guard": "guard-li", "tag": DORM, "at": local(13)},
            ]
        },
        headers=headers,
    )
    assert too_old.status_code == 200
    assert [r["reason"] for r in too_old.json()["results"]] == ["invalid", None]
    assert "older than 7 days" in too_old.json()["results"][0]["message"]


async def test_bad_requests_and_roles(client: httpx.AsyncClient) -> None:
    future = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    response = await scan(client, "guard-li", tag=DORM, at=future)
    assert response.status_code == 422
    assert "in the future" in response.json()["detail"][0]["msg"]
    assert (await scan(client, "guard-li", tag="")).status_code == 422
    assert (await scan(client, "guard-li", tag=DORM, extra=1)).status_code == 422
    assert (await scan(client, "police", tag=DORM)).status_code == 403
    assert (await scan(client, "guard-li", tag=DORM, guard="guard-wang")).status_code == 403
    assert (await scan(client, "guard-li", tag=DORM, school=SHIYAN)).status_code == 403
    no_token = await client.post("/api/v1/patrols/scans", json={"tag": DORM})
    assert no_token.status_code == 401
    other = await client.get(
        "/api/v1/compliance/patrols",
        params={"school": DONGGUAN},
        headers=await bearer(client, "guard-sun"),
    )
    assert other.status_code == 403
    unknown = await client.get(
        "/api/v1/compliance/patrols",
        params={"school": "nowhere"},
        headers=await bearer(client, "admin"),
    )
    assert unknown.status_code == 422


async def test_the_due_list_shows_the_guards_school_only(client: httpx.AsyncClient) -> None:
    await scan(client, "guard-li", tag=DORM)
    response = await client.get("/api/v1/patrols/due", headers=await bearer(client, "guard-li"))
    assert response.status_code == 200, response.text
    due = {item["checkpoint_id"]: item for item in response.json()}
    assert set(due) == {"cp-dorm", "cp-power"}
    assert due["cp-dorm"]["patrols"] == 1
    assert due["cp-dorm"]["remaining"] == 4
    assert due["cp-power"]["patrols"] == 0
    assert len(due["cp-power"]["rounds"]) == 5
    statuses = {r["status"] for r in due["cp-power"]["rounds"]}
    assert statuses <= {"overdue", "due", "upcoming"}
    assert due["cp-power"]["overdue"] == sum(
        r["status"] == "overdue" for r in due["cp-power"]["rounds"]
    )


async def test_the_answer_says_whether_the_scan_counted(client: httpx.AsyncClient) -> None:
    first = await scan(client, "guard-li", tag=DORM, at=local(9))
    assert (first.json()["counted"], first.json()["patrols"], first.json()["required"]) == (
        True,
        1,
        5,
    )
    soon = await scan(client, "guard-li", tag=DORM, at=local(9, 10))
    assert soon.json()["accepted"] is True
    assert (soon.json()["counted"], soon.json()["patrols"]) == (False, 1)  # within the hour
    later = await scan(client, "guard-li", tag=DORM, at=local(10, 5))
    assert (later.json()["counted"], later.json()["patrols"]) == (True, 2)
    forged = await scan(client, "guard-li", tag=forge(DORM))
    assert forged.json()["counted"] is None
    nfc = await scan(client, "guard-li", tag=POWER, via="nfc")
    assert nfc.json()["source"] == "nfc"
    assert (await scan(client, "guard-li", tag=POWER, via="bluetooth")).status_code == 422


async def test_a_photo_is_decoded_here(client: httpx.AsyncClient) -> None:
    headers = await bearer(client, "guard-li")
    photo = render_qr_photo(DORM, TYPICAL, seed=5)
    response = await client.post(
        "/api/v1/patrols/scans/photo",
        files={"photo": ("p.jpg", photo, "image/jpeg")},
        data={"id": "photo-1"},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    assert (response.json()["source"], response.json()["checkpoint_id"]) == ("photo", "cp-dorm")
    live = await client.post(
        "/api/v1/patrols/scans/photo",
        files={"photo": ("f.jpg", render_qr_photo(POWER, TYPICAL, seed=6), "image/jpeg")},
        data={"live": "true"},
        headers=headers,
    )
    assert live.json()["source"] == "phone"
    forged_photo = await client.post(
        "/api/v1/patrols/scans/photo",
        files={"photo": ("p.jpg", render_qr_photo(forge(DORM), TYPICAL, seed=7), "image/jpeg")},
        headers=headers,
    )
    assert forged_photo.json()["reason"] == "forged_tag"
    blank = encode_jpeg_of_wall()
    nothing = await client.post(
        "/api/v1/patrols/scans/photo",
        files={"photo": ("p.jpg", blank, "image/jpeg")},
        headers=headers,
    )
    assert nothing.status_code == 422
    assert nothing.json()["detail"][0]["type"] == "no_qr_code"
    garbage = await client.post(
        "/api/v1/patrols/scans/photo",
        files={"photo": ("p.jpg", b"\xff\xd8 not a jpeg at all", "image/jpeg")},
        headers=headers,
    )
    assert garbage.status_code == 422
    assert garbage.json()["detail"][0]["type"] == "bad_image"
    scans = await client.get("/api/v1/patrols/scans", headers=headers)
    assert len(scans.json()) == 3  # the refused photos recorded nothing


def encode_jpeg_of_wall() -> bytes:
    """A photo of a bare wall: no code in it."""
    wall = np.full((480, 640, 3), 180, dtype=np.uint8)
    return encode_jpeg(wall, 85)
