"""The site configuration (spec section 7): pydantic models, `${ENV}` secrets, YAML loading.

Every model forbids unknown keys so a typo is an error, not a silently ignored setting.
"""

from __future__ import annotations

import os
import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from gateway.domain import EVENTS_BY_DEVICE_KIND, DeviceKind, EventKind
from gateway.errors import ConfigError

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
HEX_ACCOUNT = re.compile(r"^[0-9A-Fa-f]{3,16}$")
HEX_KEY = re.compile(r"^[0-9A-Fa-f]{16}$|^[0-9A-Fa-f]{24}$|^[0-9A-Fa-f]{32}$")


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GatewaySection(Model):
    http_host: str = "0.0.0.0"
    http_port: int = Field(8080, ge=1, le=65535)
    database_url: str = Field("sqlite+aiosqlite:///campus.db", repr=False)  # may hold a password
    # PostgreSQL only: the schema to use (default: the server's search path).
    database_schema: str | None = Field(None, pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    timezone: str = "Asia/Shanghai"
    # Signs API tokens. Unset: a random key per start (tokens die with the process).
    secret_key: str | None = Field(None, min_length=16, repr=False)
    token_ttl_s: int = Field(8 * 3600, ge=60)
    # A device clock further off than this from the gateway's is flagged on the event.
    max_clock_skew_s: float = Field(300.0, gt=0)
    # Scale-out (mqtt.shared_group set; docs/scale-out.md): this instance's name. It names the
    # instance's MQTT sessions and its outbox leases, so it must stay the same across
    # restarts and differ between instances. Default: the host name.
    instance_id: Identifier | None = None
    # Scale-out: a police delivery stays with the instance working on it this long without a
    # renewal; then a live instance takes it over (its holder died).
    outbox_lease_s: float = Field(10.0, ge=3, le=3600)
    # Scale-out: how often an instance that is not the leader tries to become it, and how
    # often the leader checks that its hold on the database still stands.
    leader_retry_s: float = Field(5.0, gt=0, le=300)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(
                f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            ) from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class MqttSection(Model):
    url: str = Field("mqtt://127.0.0.1:1883", repr=False)  # may hold user:password@
    topic_prefix: Annotated[str, Field(pattern=r"^[^#+/][^#+]*[^#+/]$|^[^#+/]$")] = "campus"
    # A fixed client id: the broker keeps the session (and unacknowledged messages) across restarts.
    client_id: Identifier = "campus-gateway"
    keepalive_s: int = Field(30, ge=5, le=3600)
    connect_timeout_s: float = Field(10.0, gt=0)
    reconnect_initial_s: float = Field(0.5, gt=0)
    reconnect_max_s: float = Field(30.0, gt=0)
    ca_file: str | None = None
    # Scale-out: several gateways share the telemetry through `$share/{shared_group}/...`;
    # alarms reach every instance (docs/scale-out.md). Unset: one gateway, as before.
    shared_group: Identifier | None = None

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError("must be mqtt://host:port or mqtts://host:port")
        if not parts.hostname:
            raise ValueError("has no host")
        try:
            _ = parts.port
        except ValueError as exc:
            raise ValueError("has an invalid port") from exc
        return value

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "127.0.0.1"

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (8883 if parts.scheme == "mqtts" else 1883)

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def username(self) -> str | None:
        name = urlsplit(self.url).username
        return None if name is None else unquote(name)  # as parse_broker_url reads it

    @property
    def password(self) -> str | None:
        password = urlsplit(self.url).password
        return None if password is None else unquote(password)


class RetryPolicy(Model):
    initial_s: float = Field(1.0, gt=0)
    max_s: float = Field(60.0, gt=0)
    multiplier: float = Field(2.0, ge=1.0)
    jitter: float = Field(0.2, ge=0, le=1)


class WebhookEndpoint(Model):
    id: Identifier
    kind: Literal["webhook"]
    url: str
    secret: str = Field(min_length=8, repr=False)
    timeout_s: float = Field(5.0, gt=0, le=120)
    verify_tls: bool = True
    ca_file: str | None = None
    retry: RetryPolicy = RetryPolicy()
    # A secondary endpoint gets an alarm only when no primary acknowledged it in time.
    secondary: bool = False

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL")
        return value


class SiaDc09Endpoint(Model):
    id: Identifier
    kind: Literal["sia-dc09"]
    host: str
    port: int = Field(ge=1, le=65535)
    transport: Literal["tcp", "udp"] = "tcp"
    account: str
    key: str | None = Field(None, repr=False)
    receiver: str = Field("R0", pattern=r"^R[0-9A-Fa-f]{1,6}$")
    line: str = Field("L0", pattern=r"^L[0-9A-Fa-f]{1,6}$")
    supervision_s: float = Field(60.0, gt=0)
    timeout_s: float = Field(5.0, gt=0, le=120)
    retry: RetryPolicy = RetryPolicy()
    # A secondary endpoint gets an alarm only when no primary acknowledged it in time.
    secondary: bool = False

    @field_validator("account")
    @classmethod
    def _account(cls, value: str) -> str:
        if not HEX_ACCOUNT.match(value):
            raise ValueError("must be 3 to 16 hexadecimal digits")
        return value

    @field_validator("key")
    @classmethod
    def _key(cls, value: str | None) -> str | None:
        if value is not None and not HEX_KEY.match(value):
            raise ValueError("must be 16, 24 or 32 hexadecimal characters (AES-128/192/256)")
        return value


PoliceEndpoint = Annotated[WebhookEndpoint | SiaDc09Endpoint, Field(discriminator="kind")]


class AlarmButton(Model):
    id: Identifier
    location: str = Field(min_length=1)
    zone: int = Field(ge=1, le=9999)
    camera: Identifier | None = None


class PostPresence(Model):
    """OpenCV presence detection at a gate post: corroborating evidence, never the judge."""

    interval_s: float = Field(2.0, gt=0, le=3600)
    timeout_s: float = Field(5.0, gt=0, le=120)
    threshold: float = Field(0.02, gt=0, lt=1)
    confirm_frames: int = Field(2, ge=1, le=100)
    offline_after_failures: int = Field(3, ge=1)
    # A JPEG of the empty post; without one the first frame is taken as the empty post.
    reference: str | None = None
    # x, y, width, height as fractions of the frame: the part that shows the post.
    region: tuple[float, float, float, float] | None = None

    @field_validator("region")
    @classmethod
    def _region(
        cls, value: tuple[float, float, float, float] | None
    ) -> tuple[float, float, float, float] | None:
        if value is None:
            return None
        x, y, w, h = value
        if not (0 <= x < 1 and 0 <= y < 1 and 0 < w <= 1 - x and 0 < h <= 1 - y):
            raise ValueError("must be [x, y, width, height], fractions of the frame inside it")
        return value


class Gate(Model):
    id: Identifier
    name: str = Field(min_length=1)
    # A camera (under the school's cameras) watching the post: presence evidence.
    camera: Identifier | None = None
    presence: PostPresence = PostPresence()


class Checkpoint(Model):
    id: Identifier
    name: str = Field(min_length=1)
    # A key part or area (重点部位): patrolled `rules.patrols_per_day` times, its QR signed.
    key_area: bool = False


class Guard(Model):
    """A guard of the school: the only people whose patrol scans count. A guard's account
    on the phone page has the guard's id as its username."""

    id: Identifier
    name: str = Field(min_length=1)
    # The roster the campaign checks: full-time (专职), aged 60 or under.
    birth_date: date | None = None
    full_time: bool = True
    phone: str | None = Field(None, min_length=3, max_length=32)

    @field_validator("birth_date")
    @classmethod
    def _born(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= date.today():
            raise ValueError(f"{value} is not a birth date (1900 to today)")
        return value


class Camera(Model):
    id: Identifier
    url: str = Field(repr=False)  # rtsp://user:password@... is common
    gb28181_id: str | None = Field(None, pattern=r"^[0-9]{20}$")


class Contact(Model):
    """Someone the police call about the school: 校长, 保卫干部, 门卫室."""

    name: str = Field(min_length=1)
    role: str | None = None
    phone: str = Field(min_length=3, max_length=32)


class School(Model):
    id: Identifier
    name: str = Field(min_length=1)
    address: str | None = None  # shown to the police on the console
    # The district (区/县) whose education bureau it answers to: the monthly report's totals.
    district: str | None = Field(None, min_length=1, max_length=64)
    # The police station (派出所) whose area it is in: police accounts of that station see it.
    police_station: str | None = Field(None, min_length=1, max_length=64)
    # Day pupils (走读/在校生): the minimum number of guards depends on it (GB/T 29315-2022).
    day_pupils: int | None = Field(None, ge=0, le=100_000)
    contacts: list[Contact] = []
    alarm_buttons: list[AlarmButton] = []
    gates: list[Gate] = []
    checkpoints: list[Checkpoint] = []
    cameras: list[Camera] = []
    guards: list[Guard] = []

    @model_validator(mode="after")
    def _unique(self) -> School:
        for field, items in (
            ("alarm_buttons", self.alarm_buttons),
            ("gates", self.gates),
            ("checkpoints", self.checkpoints),
            ("cameras", self.cameras),
            ("guards", self.guards),
        ):
            _require_unique(field, [item.id for item in items])
        _require_unique("alarm_buttons", [str(b.zone) for b in self.alarm_buttons], "zone")
        cameras = {c.id for c in self.cameras}
        for index, button in enumerate(self.alarm_buttons):
            if button.camera is not None and button.camera not in cameras:
                raise ValueError(
                    f"alarm_buttons[{index}].camera: camera {button.camera!r} is not described "
                    "under this school's cameras (the police need its address and GB/T 28181 id)"
                )
        for index, gate in enumerate(self.gates):
            if gate.camera is not None and gate.camera not in cameras:
                raise ValueError(
                    f"gates[{index}].camera: camera {gate.camera!r} is not described under "
                    "this school's cameras (its url is needed)"
                )
        return self

    def device_ids(self, kind: DeviceKind) -> set[str]:
        if kind is DeviceKind.ALARM:
            return {b.id for b in self.alarm_buttons}
        if kind is DeviceKind.GATE:
            return {g.id for g in self.gates}
        return {c.id for c in self.checkpoints}

    def button(self, button_id: str) -> AlarmButton | None:
        return next((b for b in self.alarm_buttons if b.id == button_id), None)

    def camera(self, camera_id: str) -> Camera | None:
        return next((c for c in self.cameras if c.id == camera_id), None)

    def gate(self, gate_id: str) -> Gate | None:
        return next((g for g in self.gates if g.id == gate_id), None)

    def checkpoint(self, checkpoint_id: str) -> Checkpoint | None:
        return next((c for c in self.checkpoints if c.id == checkpoint_id), None)

    def guard(self, guard_id: str) -> Guard | None:
        return next((g for g in self.guards if g.id == guard_id), None)

    @property
    def key_checkpoints(self) -> list[Checkpoint]:
        return [c for c in self.checkpoints if c.key_area]


class SerialLine(Model):
    port: str
    baudrate: int = Field(9600, gt=0)
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    bytesize: Literal[7, 8] = 8


class ModbusDevice(Model):
    id: Identifier
    host: str | None = None
    port: int = Field(502, ge=1, le=65535)
    serial: SerialLine | None = None
    unit: int = Field(1, ge=0, le=247)
    poll_interval_s: float = Field(1.0, gt=0)
    offline_after_failures: int = Field(3, ge=1)
    timeout_s: float = Field(1.0, gt=0)

    @model_validator(mode="after")
    def _one_link(self) -> ModbusDevice:
        if (self.host is None) == (self.serial is None):
            raise ValueError("give either host (Modbus TCP) or serial (Modbus RTU), not both")
        return self


class ModbusSignal(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    device: Identifier
    table: Literal["coil", "discrete_input", "holding_register", "input_register"]
    address: int = Field(ge=0, le=65535)
    bit: int | None = Field(None, ge=0, le=15)
    school: Identifier
    target: Annotated[str, Field(pattern=r"^(alarm|gate|checkpoint)/[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    # YAML 1.1 reads a bare `on:`/`off:` key as a boolean: accept both spellings.
    on: EventKind = Field(alias="on")
    off: EventKind | None = Field(None, alias="off")

    @model_validator(mode="before")
    @classmethod
    def _yaml_booleans(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if True in data:
                data["on"] = data.pop(True)
            if False in data:
                data["off"] = data.pop(False)
        return data

    @model_validator(mode="after")
    def _bit_only_on_registers(self) -> ModbusSignal:
        if self.bit is not None and self.table in ("coil", "discrete_input"):
            raise ValueError("bit applies only to holding_register and input_register")
        kind = DeviceKind(self.target.split("/", 1)[0])
        allowed = EVENTS_BY_DEVICE_KIND[kind]
        for event in (self.on, self.off):
            if event is not None and event not in allowed:
                article = "an" if kind is DeviceKind.ALARM else "a"
                raise ValueError(f"event {event!s} does not belong to {article} {kind!s} device")
        return self

    @property
    def target_kind(self) -> DeviceKind:
        return DeviceKind(self.target.split("/", 1)[0])

    @property
    def target_id(self) -> str:
        return self.target.split("/", 1)[1]


class ModbusSection(Model):
    devices: list[ModbusDevice] = []
    signals: list[ModbusSignal] = []


class GuardMinimumStep(Model):
    pupils_from: int = Field(ge=0)
    guards: int = Field(ge=1)


class GuardMinimumTable(Model):
    """Minimum guards by day pupils: the last step at or below the pupil count, plus one for
    each further `per_further` pupils above the last step."""

    steps: list[GuardMinimumStep] = Field(
        default_factory=lambda: [
            GuardMinimumStep(pupils_from=0, guards=1),
            GuardMinimumStep(pupils_from=100, guards=2),
            GuardMinimumStep(pupils_from=1000, guards=3),
        ],
        min_length=1,
    )
    per_further: int | None = Field(500, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> GuardMinimumTable:
        froms = [s.pupils_from for s in self.steps]
        if froms[0] != 0:
            raise ValueError("steps: the first step must start at pupils_from 0")
        if froms != sorted(set(froms)):
            raise ValueError("steps: pupils_from must increase from step to step")
        guards = [s.guards for s in self.steps]
        if guards != sorted(guards):
            raise ValueError("steps: guards must not decrease as pupils increase")
        return self


class RatingLevelThresholds(Model):
    """What a school must reach over a quarter for one rating level. Ratios are of the
    quarter's judged gate-days, key checkpoint-days, button-months and alarms."""

    gate_days: float = Field(ge=0, le=1)
    patrol_days: float = Field(ge=0, le=1)
    alarm_tests: float = Field(ge=0, le=1)
    police_ack: float = Field(ge=0, le=1)
    # All four "4个100%" indicators met in every month of the quarter.
    four_100: bool
    max_overdue_hazards: int = Field(ge=0)


class RatingRules(Model):
    """The quarterly rating (示范 / 达标 / 不合格): a school is 示范 when it meets
    `demonstration`, else 达标 when it meets `passing`, else 不合格. Documented in
    docs/rating.md."""

    demonstration: RatingLevelThresholds = RatingLevelThresholds(
        gate_days=0.99,
        patrol_days=0.98,
        alarm_tests=1.0,
        police_ack=1.0,
        four_100=True,
        max_overdue_hazards=0,
    )
    passing: RatingLevelThresholds = RatingLevelThresholds(
        gate_days=0.95,
        patrol_days=0.9,
        alarm_tests=1.0,
        police_ack=0.95,
        four_100=False,
        max_overdue_hazards=2,
    )

    @model_validator(mode="after")
    def _ordered(self) -> RatingRules:
        d, p = self.demonstration, self.passing
        for name in ("gate_days", "patrol_days", "alarm_tests", "police_ack"):
            if getattr(d, name) < getattr(p, name):
                raise ValueError(f"demonstration.{name} must not be below passing.{name}")
        if d.max_overdue_hazards > p.max_overdue_hazards:
            raise ValueError("demonstration.max_overdue_hazards must not exceed passing's")
        if p.four_100 and not d.four_100:
            raise ValueError("demonstration.four_100 must hold when passing.four_100 does")
        return self


class Rules(Model):
    alarm_tests_per_month: int = Field(1, ge=1)
    # Buttons not yet tested this month raise `alarm_test_due` this many days before its end.
    alarm_test_reminder_days: int = Field(5, ge=0, le=27)
    gate_max_unstaffed_s: int = Field(600, ge=1)
    patrols_per_day: int = Field(5, ge=1)
    patrol_min_spacing_s: int = Field(3600, ge=0)
    guard_max_age: int = Field(60, ge=18, le=80)
    guard_minimum: GuardMinimumTable = GuardMinimumTable()
    rating: RatingRules = RatingRules()


_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Patrol(Model):
    """Patrol rounds and the keys that sign checkpoint QR codes and NFC tags."""

    # Key version -> secret (16+ characters, from the environment). A token names its key
    # version; rotating means adding a version, reprinting, then removing the old one.
    keys: dict[int, str] = Field({}, repr=False)
    # The version new sheets are signed with (default: the highest).
    current_key: int | None = None
    # Local times of the rounds ("HH:MM"). Empty: `rules.patrols_per_day` rounds spread
    # evenly over the day from `first_round`.
    round_times: list[str] = []
    first_round: str = "08:00"
    # A round is done by a scan up to this long either side of its time; past it, overdue.
    grace_s: int = Field(1800, ge=60, le=12 * 3600)
    # The same guard at the same checkpoint again within this long is a duplicate scan.
    duplicate_window_s: int = Field(60, ge=0, le=3600)
    # Late records (offline wands, phones) older than this are refused.
    max_upload_age_days: int = Field(7, ge=1, le=62)

    @field_validator("keys")
    @classmethod
    def _keys(cls, value: dict[int, str]) -> dict[int, str]:
        for version, key in value.items():
            if not 1 <= version <= 9999:
                raise ValueError(f"key version {version} must be from 1 to 9999")
            if len(key) < 16:
                raise ValueError(f"key {version} must be at least 16 characters")
        return value

    @field_validator("round_times", "first_round")
    @classmethod
    def _clock(cls, value: str | list[str]) -> str | list[str]:
        for item in [value] if isinstance(value, str) else value:
            if not _CLOCK.match(item):
                raise ValueError(f"{item!r} is not a local time HH:MM (00:00 to 23:59)")
        if isinstance(value, list) and len(set(value)) != len(value):
            raise ValueError("round times repeat")
        return value

    @model_validator(mode="after")
    def _current(self) -> Patrol:
        if self.current_key is not None and self.current_key not in self.keys:
            raise ValueError(f"current_key: no key version {self.current_key} under keys")
        return self

    @property
    def signing_version(self) -> int | None:
        if self.current_key is not None:
            return self.current_key
        return max(self.keys) if self.keys else None


class Linkage(Model):
    # An alarm no primary police endpoint acknowledged within this long is escalated: an
    # alert to the school, and the alarm goes to the secondary endpoints.
    escalation_s: float = Field(60.0, gt=0, le=3600)
    # On a press, a picture from the button's camera: the alarm waits for it at most
    # `snapshot_wait_s` (then goes without; the picture follows on the console and retries).
    snapshot_wait_s: float = Field(0.3, ge=0, le=5)
    snapshot_timeout_s: float = Field(5.0, gt=0, le=60)


class Settings(Model):
    gateway: GatewaySection = GatewaySection()
    mqtt: MqttSection = MqttSection()
    police: list[PoliceEndpoint] = []
    linkage: Linkage = Linkage()
    patrol: Patrol = Patrol()
    schools: list[School] = Field(min_length=1)
    modbus: ModbusSection = ModbusSection()
    rules: Rules = Rules()

    @model_validator(mode="after")
    def _references(self) -> Settings:
        _require_unique("police", [p.id for p in self.police])
        if self.police and all(p.secondary for p in self.police):
            raise ValueError(
                "police: every endpoint is secondary: at least one must get every alarm "
                "(secondary: false)"
            )
        _require_unique("schools", [s.id for s in self.schools])
        if not self.patrol.keys and any(s.key_checkpoints for s in self.schools):
            raise ValueError(
                "patrol.keys: key checkpoints (key_area: true) need a key to sign their QR "
                'codes, e.g. keys: {1: "${PATROL_KEY}"} (16+ characters)'
            )
        if self.patrol.round_times and len(self.patrol.round_times) < self.rules.patrols_per_day:
            raise ValueError(
                f"patrol.round_times: {len(self.patrol.round_times)} rounds, fewer than "
                f"rules.patrols_per_day ({self.rules.patrols_per_day})"
            )
        _require_unique("modbus.devices", [d.id for d in self.modbus.devices])
        schools = {s.id: s for s in self.schools}
        devices = {d.id for d in self.modbus.devices}
        lines: dict[str, ModbusDevice] = {}
        for index, device in enumerate(self.modbus.devices):
            if device.serial is None:
                continue
            other = lines.setdefault(device.serial.port, device)
            if other.serial != device.serial:
                raise ValueError(
                    f"modbus.devices[{index}].serial: {device.id!r} and {other.id!r} share "
                    f"{device.serial.port} with different line settings (one line, one speed)"
                )
        for index, signal in enumerate(self.modbus.signals):
            where = f"modbus.signals[{index}]"
            if signal.device not in devices:
                raise ValueError(f"{where}.device: no modbus device {signal.device!r}")
            school = schools.get(signal.school)
            if school is None:
                raise ValueError(f"{where}.school: no school {signal.school!r}")
            if signal.target_id not in school.device_ids(signal.target_kind):
                raise ValueError(
                    f"{where}.target: school {signal.school!r} has no {signal.target_kind!s} "
                    f"{signal.target_id!r}"
                )
        return self

    @model_validator(mode="after")
    def _scale_out(self) -> Settings:
        if self.mqtt.shared_group is not None and not self.gateway.database_url.startswith(
            "postgresql"
        ):
            raise ValueError(
                "mqtt.shared_group: several gateway instances need one PostgreSQL database "
                "(gateway.database_url); SQLite serves a single gateway"
            )
        return self

    def school(self, school_id: str) -> School | None:
        return self._schools_by_id.get(school_id)

    @cached_property
    def _schools_by_id(self) -> dict[str, School]:
        # Looked up for every scan and alarm: a city has 1,000 schools to walk through.
        return {school.id: school for school in self.schools}


def _require_unique(field: str, ids: list[str], what: str = "id") -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"{field}: duplicate {what} {item!r}")
        seen.add(item)


_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute_env(tree: Any, environ: dict[str, str] | None = None) -> Any:
    """Replace `${NAME}` in every string of a parsed YAML tree; collect what is missing."""
    env = dict(os.environ) if environ is None else environ
    problems: list[str] = []

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, _join(path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, f"{path}[{i}]") for i, value in enumerate(node)]
        if isinstance(node, str):

            def replace(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in env:
                    problems.append(f"{path}: environment variable {name} is not set")
                    return ""
                return env[name]

            return _ENV.sub(replace, node)
        return node

    result = walk(tree, "")
    if problems:
        raise ConfigError(problems)
    return result


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for index, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif index == 2 and loc[0] == "police" and part in ("webhook", "sia-dc09"):
            continue  # the union's tag (police[i].webhook.url), not a key of the file
        else:
            out = _join(out, part)
    return out


_KEY_PATH = re.compile(r"^([A-Za-z_][A-Za-z0-9_.\[\]]*): (.*)$", re.DOTALL)


def _problem(loc: tuple[int | str, ...], message: str) -> str:
    """`key.path: reason`; a validator's message may start with the key it is about."""
    where = _location(loc)
    named = _KEY_PATH.match(message)
    if named:
        key, message = named.groups()
        where = f"{where}.{key}" if where else key
    return f"{where or '(top level)'}: {message}"


def parse_settings(tree: Any, environ: dict[str, str] | None = None) -> Settings:
    if not isinstance(tree, dict):
        raise ConfigError(["(top level): the configuration must be a YAML mapping"])
    try:
        substituted = substitute_env(tree, environ)
    except RecursionError:
        raise ConfigError(["(top level): the configuration is nested too deeply"]) from None
    try:
        return Settings.model_validate(substituted)
    except ValidationError as exc:
        problems = [
            _problem(tuple(error["loc"]), str(error["msg"]).removeprefix("Value error, "))
            for error in exc.errors()
        ]
        # Not chained: pydantic's own text quotes the input, secrets included.
        raise ConfigError(problems) from None


def load_settings(path: str | Path, environ: dict[str, str] | None = None) -> Settings:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{file}: cannot read the file ({exc.strerror})"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{file}: not UTF-8 text"]) from exc
    try:
        # libyaml's loader when PyYAML has it: a city's file (1,000 schools, 1.4 MB) takes
        # 6 s and ~130 MB with the pure-Python one, a third of that with libyaml.
        tree = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except RecursionError:
        raise ConfigError([f"{file}: the YAML is nested too deeply"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            [f"{file}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]
        ) from exc
    return parse_settings(tree, environ)
