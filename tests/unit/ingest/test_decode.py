"""Decoding MQTT topics and payloads (spec 2): accepted shapes and every rejection reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import DeviceKind, EventKind
from gateway.errors import PayloadRejected
from gateway.ingest.decode import SiteDirectory, StatusChange, decode_message, parse_device_time
from gateway.settings import parse_settings

RECEIVED = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def directory() -> SiteDirectory:
    settings = parse_settings(
        {
            "mqtt": {"topic_prefix": "city/campus"},
            "patrol": {"keys": {1: "patrol-key-0123456789"}},
            "schools": [
                {
                    "id": "fy-dongguan-ms",
                    "name": "东关中学",
                    "alarm_buttons": [{"id": "btn-north", "location": "北门警务室", "zone": 1}],
                    "gates": [{"id": "gate-north", "name": "北门"}],
                    "checkpoints": [{"id": "cp-dorm", "name": "宿舍楼", "key_area": True}],
                }
            ],
        }
    )
    return SiteDirectory(settings)


def payload(**fields: object) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()


def test_press_is_decoded_with_device_time_in_utc(directory: SiteDirectory) -> None:
    event = decode_message(
        directory,
        "city/campus/fy-dongguan-ms/alarm/btn-north/event",
        payload(event="press", ts="2026-11-23T12:00:00+08:00", id="m-1"),
        RECEIVED,
    )
    assert not isinstance(event, StatusChange)
    assert event.kind is EventKind.PRESS and event.is_alarm
    assert event.device.kind is DeviceKind.ALARM
    assert event.occurred_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert event.message_id == "m-1"
    assert event.received_at == RECEIVED


def test_scan_carries_guard_and_tag(directory: SiteDirectory) -> None:
    event = decode_message(
        directory,
        "city/campus/fy-dongguan-ms/checkpoint/cp-dorm/scan",
        payload(guard="g-01", tag="tok", ts=1763870400000),
        RECEIVED,
    )
    assert not isinstance(event, StatusChange)
    assert (event.kind, event.guard_id, event.tag) == (EventKind.SCAN, "g-01", "tok")


def test_missing_id_is_derived_from_the_content(directory: SiteDirectory) -> None:
    topic = "city/campus/fy-dongguan-ms/gate/gate-north/event"
    body = payload(event="guard_on", ts="2026-11-23T12:00:00+08:00")
    first = decode_message(directory, topic, body, RECEIVED)
    again = decode_message(directory, topic, body, RECEIVED + timedelta(seconds=5))
    other = decode_message(
        directory, topic, payload(event="guard_off", ts="2026-11-23T12:00:00+08:00"), RECEIVED
    )
    assert isinstance(first, type(again))
    assert not isinstance(first, StatusChange) and not isinstance(again, StatusChange)
    assert not isinstance(other, StatusChange)
    assert first.message_id == again.message_id != other.message_id


@pytest.mark.parametrize(
    "text, online", [(b"online", True), (b"offline", False), (b" ONLINE\n", True)]
)
def test_status(directory: SiteDirectory, text: bytes, online: bool) -> None:
    status = decode_message(
        directory, "city/campus/fy-dongguan-ms/alarm/btn-north/status", text, RECEIVED
    )
    assert isinstance(status, StatusChange) and status.online is online


GOOD_TS = "2026-11-23T12:00:00+08:00"


@pytest.mark.parametrize(
    "topic, body, reason",
    [
        (
            "other/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=GOOD_TS),
            "bad_topic",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north",
            payload(event="press", ts=GOOD_TS),
            "bad_topic",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event/x",
            payload(event="press", ts=GOOD_TS),
            "bad_topic",
        ),
        (
            "city/campus/nowhere/alarm/btn-north/event",
            payload(event="press", ts=GOOD_TS),
            "unknown_school",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-ghost/event",
            payload(event="press", ts=GOOD_TS),
            "unknown_device",
        ),
        (
            "city/campus/fy-dongguan-ms/lamp/l1/event",
            payload(event="press", ts=GOOD_TS),
            "bad_topic",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/scan",
            payload(event="press", ts=GOOD_TS),
            "bad_topic",
        ),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", b"\xff\xfe", "not_utf8"),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", b"{press", "not_json"),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", b"[1,2]", "bad_payload"),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", payload(ts=GOOD_TS), "bad_payload"),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="explode", ts=GOOD_TS),
            "bad_event",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="guard_on", ts=GOOD_TS),
            "bad_event",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press"),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts="2026-11-23T12:00:00"),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts="yesterday"),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=True),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=1e30),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=12),
            "bad_timestamp",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=GOOD_TS, id=""),
            "bad_payload",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=GOOD_TS, id={"a": 1}),
            "bad_payload",
        ),
        (
            "city/campus/fy-dongguan-ms/alarm/btn-north/event",
            payload(event="press", ts=GOOD_TS, id="x" * 129),
            "bad_payload",
        ),
        (
            "city/campus/fy-dongguan-ms/checkpoint/cp-dorm/scan",
            payload(guard="g", ts=GOOD_TS),
            "bad_payload",
        ),
        (
            "city/campus/fy-dongguan-ms/checkpoint/cp-dorm/scan",
            payload(guard=5, tag="t", ts=GOOD_TS),
            "bad_payload",
        ),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/status", b"maybe", "bad_payload"),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", b" " * (64 * 1024 + 1), "too_large"),
        ("city/campus/fy-dongguan-ms/alarm/btn-north/event", b"[" * 50000, "not_json"),
    ],
)
def test_rejections(directory: SiteDirectory, topic: str, body: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_message(directory, topic, body, RECEIVED)
    assert caught.value.reason == reason
    assert caught.value.detail


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026-11-23T12:00:00+08:00", datetime(2026, 11, 23, 4, tzinfo=UTC)),
        ("2026-11-23T04:00:00Z", datetime(2026, 11, 23, 4, tzinfo=UTC)),
        ("2026-11-23T04:00:00.250z", datetime(2026, 11, 23, 4, 0, 0, 250000, tzinfo=UTC)),
        (1763870400000, datetime(2025, 11, 23, 4, tzinfo=UTC)),
        (1763870400000.5, datetime(2025, 11, 23, 4, 0, 0, 500, tzinfo=UTC)),
    ],
)
def test_device_time_forms(value: object, expected: datetime) -> None:
    assert parse_device_time(value) == expected


@given(
    topic=st.text(max_size=80),
    body=st.binary(max_size=300)
    | st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    ).map(lambda tree: json.dumps(tree).encode()),
)
def test_any_input_is_decoded_or_rejected_never_crashes(topic: str, body: bytes) -> None:
    directory = SiteDirectory(
        parse_settings(
            {
                "schools": [
                    {
                        "id": "s",
                        "name": "学校",
                        "alarm_buttons": [{"id": "b", "location": "门", "zone": 1}],
                    }
                ]
            }
        )
    )
    for candidate in (topic, "campus/s/alarm/b/event", "campus/s/alarm/b/status"):
        try:
            decode_message(directory, candidate, body, RECEIVED)
        except PayloadRejected as rejection:
            assert rejection.reason


ALARM_TOPIC = "city/campus/fy-dongguan-ms/alarm/btn-north/event"
SCAN_TOPIC = "city/campus/fy-dongguan-ms/checkpoint/cp-dorm/scan"


@pytest.mark.parametrize(
    "topic, body, said",
    [
        # JSON escapes: valid JSON and valid UTF-8, text no database can store or no id needs.
        (ALARM_TOPIC, b'{"event": "press", "ts": "%s", "id": "\\ud800"}', "'id' holds a lone"),
        (ALARM_TOPIC, b'{"event": "press", "ts": "%s", "id": "a\\u0000"}', "'id' holds the NUL"),
        (ALARM_TOPIC, b'{"event": "press", "ts": "%s", "id": "a\\u001b"}', "U+001B"),
        (SCAN_TOPIC, b'{"guard": "\\udfff", "tag": "t", "ts": "%s"}', "'guard' holds a lone"),
        (SCAN_TOPIC, b'{"guard": "g", "tag": "t\\u0000", "ts": "%s"}', "'tag' holds the NUL"),
        (SCAN_TOPIC, b'{"guard": "g\\u0085", "tag": "t", "ts": "%s"}', "U+0085"),
    ],
)
def test_unsafe_text_is_refused_at_decode(
    directory: SiteDirectory, topic: str, body: bytes, said: str
) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_message(directory, topic, body % GOOD_TS.encode(), RECEIVED)
    assert caught.value.reason == "bad_text"
    assert said in caught.value.detail


def test_offsets_other_than_china_are_respected() -> None:
    moment = parse_device_time("2026-11-23T00:30:00-05:00")
    assert moment == datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    assert moment.tzinfo is UTC or moment.utcoffset() == UTC.utcoffset(None)
