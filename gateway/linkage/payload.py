"""The webhook body of spec 4.1, built from a stored alarm. Pure."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.domain import Picture
from gateway.settings import Settings
from gateway.storage.models import Alarm


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def webhook_body(alarm: Alarm, settings: Settings, picture: Picture | None = None) -> bytes:
    zone = settings.gateway.zone
    camera: dict[str, Any] | None = None
    if alarm.camera_id is not None:
        school = settings.school(alarm.school_id)
        known = school.camera(alarm.camera_id) if school is not None else None
        camera = {"id": alarm.camera_id, "gb28181_id": known.gb28181_id if known else None}
    body: dict[str, Any] = {
        "alarm_id": alarm.alarm_id,
        "kind": alarm.kind,
        "school_id": alarm.school_id,
        "school_name": alarm.school_name,
        "device_id": alarm.device_id,
        "location": alarm.location,
        "occurred_at": local_time(alarm.occurred_at, zone),
        "received_at": local_time(alarm.received_at, zone),
        "source_id": alarm.source_id,
        "snapshot": None
        if picture is None
        else {
            "content_type": picture.content_type,
            "data_base64": base64.b64encode(picture.data).decode("ascii"),
        },
        "camera": camera,
    }
    if alarm.notice_id is not None:
        # Spec 4.1: a test announced in advance carries its notice, so nobody is dispatched.
        body["test_notice"] = {
            "id": alarm.notice_id,
            "window_start": None
            if alarm.notice_window_start is None
            else local_time(alarm.notice_window_start, zone),
            "window_end": None
            if alarm.notice_window_end is None
            else local_time(alarm.notice_window_end, zone),
        }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
