"""The simulated police centre: the receiving side of spec 4.1, over its real ASGI app."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.errors import ConfigError
from gateway.linkage.signing import sign
from simulators.police import PoliceCentre, PoliceOptions, serve_police
from tests.support.services import free_port

SECRET = "test-secret-0123"


def alarm(alarm_id: str = "alm-0001", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "alarm_id": alarm_id,
        "kind": "emergency",
        "school_id": "fy-dongguan-ms",
        "school_name": "东关中学",
        "device_id": "btn-north",
        "location": "北门警务室",
        "occurred_at": "2024-05-01T08:00:00.000+08:00",
        "received_at": "2024-05-01T00:00:00.120+00:00",
        "source_id": "msg-17",
        "snapshot": {
            "content_type": "image/jpeg",
            "data_base64": base64.b64encode(b"JPEG").decode(),
        },
        "camera": {"id": "cam-north", "gb28181_id": "34020000001320000001"},
    }
    body.update(changes)
    return body


def signed(
    body: dict[str, Any] | bytes,
    *,
    secret: str = SECRET,
    stamp: int | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """httpx request arguments for POST /alarms, signed as the gateway signs them."""
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    when = str(stamp if stamp is not None else int(time.time()))
    if key is None and isinstance(body, dict):
        key = str(body.get("alarm_id"))
    headers = {
        "Content-Type": "application/json",
        "X-Campus-Timestamp": when,
        "X-Campus-Signature": sign(secret, when, raw),
        "Idempotency-Key": key or "",
    }
    return {"content": raw, "headers": headers}


Connect = Callable[[PoliceCentre], httpx.AsyncClient]


@pytest.fixture
async def connect() -> AsyncIterator[Connect]:
    clients: list[httpx.AsyncClient] = []

    def make(centre: PoliceCentre) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=centre.asgi_app())
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://police.test"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()


async def test_good_signature_is_acknowledged_and_listed(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    client = connect(centre)

    answer = await client.post("/alarms", **signed(alarm()))

    assert answer.status_code == 200
    ack = answer.json()
    assert ack["alarm_id"] == "alm-0001"
    assert ack["receipt_id"] and ack["received_at"]
    [receipt] = (await client.get("/receipts")).json()
    assert receipt["receipt_id"] == ack["receipt_id"]
    assert receipt["kind"] == "emergency"
    assert receipt["school_id"] == "fy-dongguan-ms"
    assert receipt["device_id"] == "btn-north"
    assert receipt["received_at"] == "2024-05-01T00:00:00.120000+00:00"
    assert receipt["acknowledged_at"] == ack["acknowledged_at"]
    assert (receipt["duplicates"], receipt["attempts"]) == (0, 1)
    assert receipt["snapshot"] == {"content_type": "image/jpeg", "bytes": 4}
    assert (await client.get("/healthz")).json()["status"] == "ok"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda req: req.update(signed(alarm(), secret="another-secret")), id="secret"),
        pytest.param(lambda req: req.update(content=req["content"] + b" "), id="body-changed"),
        pytest.param(lambda req: req["headers"].pop("X-Campus-Signature"), id="no-signature"),
        pytest.param(
            lambda req: req["headers"].update({"X-Campus-Signature": "sha256=Ω".encode()}),
            id="non-ascii",
        ),
    ],
)
async def test_bad_signature_is_401(
    connect: Connect, tamper: Callable[[dict[str, Any]], Any]
) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    request = signed(alarm())
    tamper(request)

    answer = await connect(centre).post("/alarms", **request)

    assert answer.status_code == 401
    assert centre.receipts == []


async def test_stale_timestamp_is_401(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET, max_skew_s=300))

    answer = await connect(centre).post("/alarms", **signed(alarm(), stamp=int(time.time()) - 301))

    assert answer.status_code == 401
    assert "off" in answer.json()["detail"]
    assert centre.receipts == []


async def test_first_requests_fail_then_one_receipt(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET, fail_first=3))
    client = connect(centre)

    statuses = [(await client.post("/alarms", **signed(alarm()))).status_code for _ in range(4)]

    assert statuses == [503, 503, 503, 200]
    [receipt] = (await client.get("/receipts")).json()
    assert (receipt["attempts"], receipt["duplicates"]) == (4, 0)


async def test_failing_switch_at_run_time(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    client = connect(centre)

    centre.set_failing(True)
    down = await client.post("/alarms", **signed(alarm()))
    centre.set_failing(False)
    up = await client.post("/alarms", **signed(alarm()))

    assert (down.status_code, up.status_code) == (503, 200)


async def test_repeated_key_gets_the_same_receipt(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    client = connect(centre)

    first = (await client.post("/alarms", **signed(alarm()))).json()
    again = (await client.post("/alarms", **signed(alarm()))).json()

    assert again["receipt_id"] == first["receipt_id"]
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    [receipt] = (await client.get("/receipts")).json()
    assert (receipt["duplicates"], receipt["attempts"]) == (1, 2)


async def test_slow_answer_is_recorded_first_so_the_retry_is_a_duplicate(
    connect: Connect,
) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    client = connect(centre)

    centre.set_delay(30)
    with pytest.raises(TimeoutError):  # the sender gives up before the answer comes
        await asyncio.wait_for(client.post("/alarms", **signed(alarm())), timeout=1)
    centre.set_delay(0)
    retry = (await client.post("/alarms", **signed(alarm()))).json()

    assert retry["duplicate"] is True
    assert retry["receipt_id"] == centre.receipts[0].receipt_id


@pytest.mark.parametrize(
    "make_request",
    # Signed when the test runs, not when it is collected: the signature carries a
    # timestamp the centre refuses 300 s later, and a full suite takes longer than that.
    [
        pytest.param(lambda: signed(b"{not json"), id="not-json"),
        pytest.param(lambda: signed(b"[]", key="x"), id="not-an-object"),
        pytest.param(
            lambda: signed({k: v for k, v in alarm().items() if k != "location"}), id="missing"
        ),
        pytest.param(lambda: signed(alarm(kind="fire")), id="unknown-kind"),
        pytest.param(lambda: signed(alarm(occurred_at="2024-05-01T08:00:00")), id="no-offset"),
        pytest.param(lambda: signed(alarm(occurred_at=1714521600000)), id="epoch-number"),
        pytest.param(
            lambda: signed(alarm(snapshot={"content_type": "image/jpeg", "data_base64": "%%"})),
            id="base64",
        ),
        pytest.param(
            lambda: signed(alarm(camera={"id": "c", "gb28181_id": "123"})), id="gb28181-id"
        ),
        pytest.param(
            lambda: signed(
                alarm(
                    test_notice={
                        "id": "n1",
                        "window_start": "2024-05-01T08:00:00+08:00",
                        "window_end": "2024-05-01T09:00:00+08:00",
                    }
                )
            ),
            id="notice-on-emergency",
        ),
        pytest.param(lambda: signed(alarm(), key="another-id"), id="idempotency-key"),
    ],
)
async def test_malformed_request_is_400(
    connect: Connect, make_request: Callable[[], dict[str, Any]]
) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))

    answer = await connect(centre).post("/alarms", **make_request())

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"]
    assert centre.receipts == []


async def test_test_with_notice_is_accepted(connect: Connect) -> None:
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    notice = {
        "id": "n1",
        "window_start": "2024-05-01T08:00:00+08:00",
        "window_end": "2024-05-01T09:00:00+08:00",
    }
    body = alarm(kind="test", snapshot=None, camera=None, test_notice=notice)

    answer = await connect(centre).post("/alarms", **signed(body))

    assert answer.status_code == 200
    assert centre.receipts[0].test_notice == notice


async def test_restarted_centre_remembers_keys(connect: Connect, tmp_path: Path) -> None:
    path = tmp_path / "receipts.jsonl"
    first_centre = PoliceCentre(PoliceOptions(secret=SECRET, receipts_path=path))
    first = (await connect(first_centre).post("/alarms", **signed(alarm()))).json()
    with path.open("a", encoding="utf-8") as file:
        file.write('{"receipt_id": "torn')  # a crash in the middle of a line

    restarted = PoliceCentre(PoliceOptions(secret=SECRET, receipts_path=path))
    client = connect(restarted)
    again = (await client.post("/alarms", **signed(alarm()))).json()
    other = (await client.post("/alarms", **signed(alarm("alm-0002")))).json()

    assert again["receipt_id"] == first["receipt_id"]
    assert again["duplicate"] is True
    listing = (await client.get("/receipts")).json()
    assert [r["alarm_id"] for r in listing] == ["alm-0001", "alm-0002"]
    assert listing[0]["duplicates"] == 1
    assert other["receipt_id"] != first["receipt_id"]
    reloaded = PoliceCentre(PoliceOptions(secret=SECRET, receipts_path=path))
    assert [(r.alarm_id, r.duplicates) for r in reloaded.receipts] == [
        ("alm-0001", 1),
        ("alm-0002", 0),
    ]


async def test_serve_police_over_tcp_and_stop(tmp_path: Path) -> None:
    port = free_port()
    ready = asyncio.Event()
    centre = PoliceCentre(PoliceOptions(secret=SECRET))
    server = asyncio.create_task(
        serve_police(centre.options, host="127.0.0.1", port=port, ready=ready, centre=centre)
    )
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            answer = await client.post("/alarms", **signed(alarm()))
        assert answer.status_code == 200
        assert len(centre.receipts) == 1
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(timeout=2) as client:
            await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_serve_police_port_in_use_is_a_clear_error() -> None:
    port = free_port()
    ready = asyncio.Event()
    options = PoliceOptions(secret=SECRET)
    first = asyncio.create_task(serve_police(options, host="127.0.0.1", port=port, ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=10)
        with pytest.raises(ConfigError, match="cannot listen"):
            await serve_police(options, host="127.0.0.1", port=port)
    finally:
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
