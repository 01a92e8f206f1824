"""From an MQTT topic and payload to a normalized event, or a reason to refuse it (spec 2).

Pure: no I/O, the site directory and the receive time are passed in."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.domain import (
    EVENTS_BY_DEVICE_KIND,
    DeviceEvent,
    DeviceKind,
    DeviceRef,
    EventKind,
    Transport,
)
from gateway.errors import PayloadRejected, UnsafeText
from gateway.settings import Settings
from gateway.text import require_safe_text

MAX_PAYLOAD_BYTES = 64 * 1024
MAX_ID_LENGTH = 128
# Device times outside this range are garbage (unset RTC, ms/s confusion).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


class Channel:
    EVENT = "event"
    SCAN = "scan"
    STATUS = "status"


CHANNEL_OF_KIND = {
    DeviceKind.ALARM: Channel.EVENT,
    DeviceKind.GATE: Channel.EVENT,
    DeviceKind.CHECKPOINT: Channel.SCAN,
}


@dataclass(frozen=True, slots=True)
class StatusChange:
    device: DeviceRef
    online: bool
    received_at: datetime


class SiteDirectory:
    """The devices the site configuration knows, for quick look-up on every message."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.mqtt.topic_prefix
        self._prefix_parts = self.prefix.split("/")
        self._devices: dict[tuple[str, DeviceKind], frozenset[str]] = {}
        for school in settings.schools:
            for kind in DeviceKind:
                self._devices[(school.id, kind)] = frozenset(school.device_ids(kind))
        self._schools = frozenset(s.id for s in settings.schools)

    def split_topic(self, topic: str) -> list[str] | None:
        """The parts after the prefix, or None when the topic is not under the prefix."""
        parts = topic.split("/")
        n = len(self._prefix_parts)
        if parts[:n] != self._prefix_parts:
            return None
        return parts[n:]

    def resolve(self, school: str, kind_text: str, device: str) -> DeviceRef:
        if school not in self._schools:
            raise PayloadRejected("unknown_school", f"school {school!r} is not configured")
        try:
            kind = DeviceKind(kind_text)
        except ValueError:
            raise PayloadRejected("bad_topic", f"unknown device kind {kind_text!r}") from None
        if device not in self._devices[(school, kind)]:
            raise PayloadRejected(
                "unknown_device", f"{kind} {device!r} is not configured for school {school!r}"
            )
        return DeviceRef(school, kind, device)


def decode_message(
    directory: SiteDirectory, topic: str, payload: bytes, received_at: datetime
) -> DeviceEvent | StatusChange:
    parts = directory.split_topic(topic)
    if parts is None or len(parts) != 4:
        raise PayloadRejected(
            "bad_topic", f"topic {topic!r} is not {directory.prefix}/school/kind/device/channel"
        )
    school, kind_text, device_id, channel = parts
    device = directory.resolve(school, kind_text, device_id)
    if channel == Channel.STATUS:
        return _decode_status(device, payload, received_at)
    if channel != CHANNEL_OF_KIND[device.kind]:
        raise PayloadRejected(
            "bad_topic", f"a {device.kind} device does not publish on {channel!r}"
        )
    body = _json_object(payload)
    return _decode_event(device, body, topic, payload, received_at)


def _decode_status(device: DeviceRef, payload: bytes, received_at: datetime) -> StatusChange:
    text = _text(payload).strip().lower()
    if text not in ("online", "offline"):
        raise PayloadRejected("bad_payload", f"status must be online or offline, got {text[:40]!r}")
    return StatusChange(device, text == "online", received_at)


def _decode_event(
    device: DeviceRef, body: dict[str, Any], topic: str, payload: bytes, received_at: datetime
) -> DeviceEvent:
    allowed = EVENTS_BY_DEVICE_KIND[device.kind]
    if device.kind is DeviceKind.CHECKPOINT:
        kind = EventKind.SCAN
        if body.get("event", "scan") != "scan":
            raise PayloadRejected("bad_event", "a checkpoint only sends scans")
    else:
        event = body.get("event")
        if not isinstance(event, str):
            raise PayloadRejected("bad_payload", "field 'event' is missing or not a string")
        try:
            kind = EventKind(event)
        except ValueError:
            raise PayloadRejected("bad_event", f"unknown event {event[:40]!r}") from None
        if kind not in allowed:
            raise PayloadRejected(
                "bad_event", f"event {event!r} does not belong to a {device.kind}"
            )
    occurred_at = parse_device_time(body.get("ts"))
    guard = _optional_text(body, "guard", 64)
    tag = _optional_text(body, "tag", 512)
    if kind is EventKind.SCAN and (guard is None or tag is None):
        raise PayloadRejected("bad_payload", "a scan needs 'guard' and 'tag'")
    return DeviceEvent(
        device=device,
        kind=kind,
        message_id=_message_id(body.get("id"), topic, payload),
        occurred_at=occurred_at,
        received_at=received_at,
        transport=Transport.MQTT,
        topic=topic,
        raw_payload=payload.decode("utf-8"),
        guard_id=guard,
        tag=tag,
    )


def parse_device_time(value: Any) -> datetime:
    """RFC 3339 with an offset, or epoch milliseconds (spec 2)."""
    if isinstance(value, bool) or value is None:
        raise PayloadRejected("bad_timestamp", "field 'ts' is missing")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise PayloadRejected("bad_timestamp", "field 'ts' is not a finite number")
        try:
            moment = datetime.fromtimestamp(value / 1000, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise PayloadRejected(
                "bad_timestamp", f"epoch milliseconds {value!r} out of range"
            ) from None
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("z", "Z"))
        except ValueError:
            raise PayloadRejected("bad_timestamp", f"'ts' {value[:40]!r} is not RFC 3339") from None
        if moment.tzinfo is None:
            raise PayloadRejected("bad_timestamp", f"'ts' {value[:40]!r} has no UTC offset")
        moment = moment.astimezone(UTC)
    else:
        raise PayloadRejected("bad_timestamp", "field 'ts' must be a string or a number")
    if not EARLIEST <= moment < LATEST:
        raise PayloadRejected("bad_timestamp", f"'ts' {moment.isoformat()} is outside 2000-2100")
    return moment


def _message_id(value: Any, topic: str, payload: bytes) -> str:
    if value is None:
        # Derived from the content, so a redelivered copy gets the same id and is dropped.
        return "h:" + hashlib.sha256(topic.encode() + b"\n" + payload).hexdigest()[:40]
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadRejected("bad_payload", "field 'id' must be a string or an integer")
    text = str(value)
    if not text or len(text) > MAX_ID_LENGTH:
        raise PayloadRejected("bad_payload", f"field 'id' must be 1 to {MAX_ID_LENGTH} characters")
    return _safe(text, "id")


def _optional_text(body: dict[str, Any], key: str, limit: int) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > limit:
        raise PayloadRejected(
            "bad_payload", f"field {key!r} must be text of 1 to {limit} characters"
        )
    return _safe(value, key)


def _safe(value: str, key: str) -> str:
    """Refused here, with the reason, rather than by the database (which would refuse the
    whole batch it came in)."""
    try:
        return require_safe_text(value)
    except UnsafeText as unsafe:
        raise PayloadRejected("bad_text", f"field {key!r} {unsafe}") from None


def _text(payload: bytes) -> str:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected("too_large", f"payload of {len(payload)} bytes")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRejected("not_utf8", "payload is not UTF-8") from None


def _json_object(payload: bytes) -> dict[str, Any]:
    text = _text(payload)
    try:
        body = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        raise PayloadRejected("not_json", "payload is not JSON") from None
    if not isinstance(body, dict):
        raise PayloadRejected("bad_payload", "payload must be a JSON object")
    return body
