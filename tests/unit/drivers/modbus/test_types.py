"""The driver's value objects refuse what cannot be polled, with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from drivers.modbus import DeviceSpec, ModbusPoller, Point, SerialSpec, Table
from gateway.errors import ConfigError


@pytest.mark.parametrize(
    "table, address, bit, message",
    [
        (Table.COIL, -1, None, "address -1 is outside 0..65535"),
        (Table.INPUT_REGISTER, 65536, None, "address 65536 is outside"),
        (Table.DISCRETE_INPUT, 0, 1, "bit applies to registers only"),
        (Table.HOLDING_REGISTER, 0, 16, "bit 16 is outside 0..15"),
    ],
)
def test_bad_points(table: Table, address: int, bit: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Point(table, address, bit)


def test_point_reads_well() -> None:
    assert str(Point(Table.HOLDING_REGISTER, 10, 3)) == "holding_register 10.3"
    assert str(Point(Table.COIL, 3)) == "coil 3"


TCP: dict[str, Any] = {"device_id": "panel-1", "unit": 1, "points": (), "host": "10.0.0.5"}


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"host": None}, "give either host"),
        ({"serial": SerialSpec("/dev/ttyUSB0")}, "give either host"),
        ({"unit": 256}, "unit 256 is outside"),
        ({"port": 0}, "port 0 is outside"),
        ({"poll_interval_s": 0}, "poll_interval_s must be positive"),
        ({"timeout_s": -1}, "timeout_s must be positive"),
        ({"offline_after_failures": 0}, "offline_after_failures must be at least 1"),
        ({"reconnect_initial_s": 5, "reconnect_max_s": 1}, "reconnect_max_s is below"),
        ({"device_id": ""}, "needs an id"),
    ],
)
def test_bad_devices(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeviceSpec(**(TCP | changes))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"port": ""}, "needs a port"),
        ({"parity": "X"}, "parity 'X' must be N, E or O"),
        ({"stopbits": 3}, "stopbits 3 must be 1 or 2"),
        ({"bytesize": 5}, "bytesize 5 must be 7 or 8"),
        ({"baudrate": 0}, "baudrate 0 must be positive"),
    ],
)
def test_bad_serial_lines(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SerialSpec(**({"port": "/dev/ttyUSB0"} | changes))


def test_links() -> None:
    assert DeviceSpec(**TCP).link == "tcp:10.0.0.5:502"
    serial = DeviceSpec("io", 3, (), serial=SerialSpec("/dev/ttyUSB0"))
    assert serial.link == "serial:/dev/ttyUSB0"


def test_poller_refuses_repeated_ids_and_one_line_with_two_settings() -> None:
    line = SerialSpec("/dev/ttyUSB0", baudrate=9600)
    with pytest.raises(ConfigError) as caught:
        ModbusPoller(
            [
                DeviceSpec(**TCP),
                DeviceSpec(**TCP),
                DeviceSpec("a", 1, (), serial=line),
                DeviceSpec("b", 2, (), serial=SerialSpec("/dev/ttyUSB0", baudrate=19200)),
            ]
        )
    assert caught.value.problems == [
        "modbus device 'panel-1' is given twice",
        "modbus devices 'a' and 'b' share serial port /dev/ttyUSB0 with different line settings",
    ]
