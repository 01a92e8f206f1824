"""Events and value objects shared by every part of the gateway."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class DeviceKind(StrEnum):
    ALARM = "alarm"
    GATE = "gate"
    CHECKPOINT = "checkpoint"


class EventKind(StrEnum):
    # alarm buttons
    PRESS = "press"
    TEST = "test"
    RESTORE = "restore"
    FAULT = "fault"
    TAMPER = "tamper"
    # gate posts
    GUARD_ON = "guard_on"
    GUARD_OFF = "guard_off"
    OPEN = "open"
    CLOSED = "closed"
    # checkpoints
    SCAN = "scan"
    # any device
    ONLINE = "online"
    OFFLINE = "offline"


EVENTS_BY_DEVICE_KIND: dict[DeviceKind, frozenset[EventKind]] = {
    DeviceKind.ALARM: frozenset(
        {EventKind.PRESS, EventKind.TEST, EventKind.RESTORE, EventKind.FAULT, EventKind.TAMPER}
    ),
    DeviceKind.GATE: frozenset(
        {EventKind.GUARD_ON, EventKind.GUARD_OFF, EventKind.OPEN, EventKind.CLOSED}
    ),
    DeviceKind.CHECKPOINT: frozenset({EventKind.SCAN}),
}

# Events that become alarms forwarded to the police (spec 4).
ALARM_EVENTS: frozenset[EventKind] = frozenset({EventKind.PRESS, EventKind.TEST})


class AlarmKind(StrEnum):
    EMERGENCY = "emergency"
    TEST = "test"
    # Signals a SIA DC-09 receiver also takes (spec 4.2: PR, TA); never sent to a webhook,
    # never on the console, never escalated: nobody acts on a restore.
    RESTORE = "restore"
    TAMPER = "tamper"


ALARM_KIND_OF_EVENT: dict[EventKind, AlarmKind] = {
    EventKind.PRESS: AlarmKind.EMERGENCY,
    EventKind.TEST: AlarmKind.TEST,
    EventKind.RESTORE: AlarmKind.RESTORE,
    EventKind.TAMPER: AlarmKind.TAMPER,
}
# The alarms people act on (console, lifecycle, escalation, pictures, webhook).
ACTIONABLE_KINDS: frozenset[AlarmKind] = frozenset({AlarmKind.EMERGENCY, AlarmKind.TEST})
# Button events forwarded to SIA DC-09 receivers only.
SIGNAL_EVENTS: frozenset[EventKind] = frozenset({EventKind.RESTORE, EventKind.TAMPER})


class AlarmStage(StrEnum):
    """Where the police are with an alarm. It latches: only a person moves it on, and only
    forward; a `restore` from the button is recorded but never closes it (GB 50394)."""

    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


STAGE_ORDER: tuple[AlarmStage, ...] = tuple(AlarmStage)


class Transport(StrEnum):
    MQTT = "mqtt"
    MODBUS = "modbus"
    API = "api"
    CAMERA = "camera"


class Role(StrEnum):
    GUARD = "guard"
    POLICE = "police"
    INSPECTOR = "inspector"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    school_id: str
    kind: DeviceKind
    device_id: str


@dataclass(frozen=True, slots=True)
class Picture:
    """A camera snapshot kept with an event (presence evidence, later alarm pictures)."""

    camera_id: str
    taken_at: datetime  # UTC
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A normalized event from any transport, before it is stored."""

    device: DeviceRef
    kind: EventKind
    message_id: str
    occurred_at: datetime  # device time, UTC
    received_at: datetime  # gateway time, UTC
    transport: Transport
    topic: str
    raw_payload: str
    guard_id: str | None = None
    tag: str | None = None
    picture: Picture | None = None

    @property
    def is_alarm(self) -> bool:
        return self.kind in ALARM_EVENTS

    @property
    def content_key(self) -> str:
        """What a repeat of this message id must also repeat to be a duplicate: the event,
        its device time (to the microsecond), guard and tag. A device that reuses an id (a
        counter restarted after a power loss, a restore numbered like the next press) sends
        another message under it, which is stored, never dropped as a copy."""
        return content_key(self.kind.value, self.occurred_at, self.guard_id, self.tag)


def content_key(kind: str, occurred_at: datetime, guard_id: str | None, tag: str | None) -> str:
    """16 hex digits of a digest of an event's content (`DeviceEvent.content_key`)."""
    micros = (occurred_at - _EPOCH) // timedelta(microseconds=1)
    text = f"{kind}|{micros}|{guard_id or ''}|{tag or ''}"
    # surrogatepass: a key is always computed, whatever text reached here.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
