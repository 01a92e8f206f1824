"""Value objects of the Modbus driver: what to poll (specs) and what it saw (events)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

MAX_ADDRESS = 65535
MAX_UNIT = 255


class Table(StrEnum):
    """The four Modbus data tables."""

    COIL = "coil"
    DISCRETE_INPUT = "discrete_input"
    HOLDING_REGISTER = "holding_register"
    INPUT_REGISTER = "input_register"

    @property
    def is_bits(self) -> bool:
        return self in (Table.COIL, Table.DISCRETE_INPUT)


@dataclass(frozen=True, slots=True)
class Point:
    """One mapped signal location on a device. `bit` (0 = least significant) applies to
    registers only; a register point without a bit is on when the register is not 0."""

    table: Table
    address: int
    bit: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.address <= MAX_ADDRESS:
            raise ValueError(f"address {self.address} is outside 0..{MAX_ADDRESS}")
        if self.bit is not None:
            if self.table.is_bits:
                raise ValueError(f"bit applies to registers only, not to a {self.table}")
            if not 0 <= self.bit <= 15:
                raise ValueError(f"bit {self.bit} is outside 0..15")

    def __str__(self) -> str:
        suffix = "" if self.bit is None else f".{self.bit}"
        return f"{self.table} {self.address}{suffix}"


@dataclass(frozen=True, slots=True)
class SerialSpec:
    """An RS-485/RS-232 line for Modbus RTU."""

    port: str
    baudrate: int = 9600
    parity: str = "N"
    stopbits: int = 1
    bytesize: int = 8

    def __post_init__(self) -> None:
        if not self.port:
            raise ValueError("a serial line needs a port (e.g. /dev/ttyUSB0)")
        if self.baudrate <= 0:
            raise ValueError(f"baudrate {self.baudrate} must be positive")
        if self.parity not in ("N", "E", "O"):
            raise ValueError(f"parity {self.parity!r} must be N, E or O")
        if self.stopbits not in (1, 2):
            raise ValueError(f"stopbits {self.stopbits} must be 1 or 2")
        if self.bytesize not in (7, 8):
            raise ValueError(f"bytesize {self.bytesize} must be 7 or 8")


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """One polled device: Modbus TCP (`host`) or RTU over a serial line (`serial`)."""

    device_id: str
    unit: int
    points: tuple[Point, ...]
    host: str | None = None
    port: int = 502
    serial: SerialSpec | None = None
    poll_interval_s: float = 1.0
    timeout_s: float = 1.0
    offline_after_failures: int = 3
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0

    def __post_init__(self) -> None:
        where = f"modbus device {self.device_id!r}"
        if not self.device_id:
            raise ValueError("a modbus device needs an id")
        if (self.host is None) == (self.serial is None):
            raise ValueError(f"{where}: give either host (TCP) or serial (RTU), not both")
        if not 0 <= self.unit <= MAX_UNIT:
            raise ValueError(f"{where}: unit {self.unit} is outside 0..{MAX_UNIT}")
        if not 1 <= self.port <= MAX_ADDRESS:
            raise ValueError(f"{where}: port {self.port} is outside 1..65535")
        for name in ("poll_interval_s", "timeout_s", "reconnect_initial_s", "reconnect_max_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{where}: {name} must be positive")
        if self.reconnect_max_s < self.reconnect_initial_s:
            raise ValueError(f"{where}: reconnect_max_s is below reconnect_initial_s")
        if self.offline_after_failures < 1:
            raise ValueError(f"{where}: offline_after_failures must be at least 1")

    @property
    def link(self) -> str:
        """Devices with the same link share one connection (and wait for each other)."""
        if self.serial is not None:
            return f"serial:{self.serial.port}"
        return f"tcp:{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PointChanged:
    device_id: str
    point: Point
    value: bool
    previous: bool | None  # None on the first successful read of that point
    observed_at: datetime  # aware UTC wall-clock time the poll's answer arrived


@dataclass(frozen=True, slots=True)
class PollFailed:
    device_id: str
    detail: str  # readable, e.g. "timeout after 1.0 s reading coil 0-7"
    consecutive: int
    at: datetime


@dataclass(frozen=True, slots=True)
class LinkChanged:
    """online=True at the first good poll and at each recovery; online=False once, when the
    failures in a row reach the device's offline_after_failures (also if it never answered)."""

    device_id: str
    online: bool
    detail: str
    at: datetime


ModbusEvent = PointChanged | PollFailed | LinkChanged


@dataclass(frozen=True, slots=True)
class DeviceState:
    """A snapshot for the API. `online` is None until the device answered or went offline;
    `last_error` is the detail of the latest failed poll, kept after a recovery."""

    device_id: str
    online: bool | None
    consecutive_failures: int
    last_ok_at: datetime | None
    last_error: str | None
