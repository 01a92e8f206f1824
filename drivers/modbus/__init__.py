"""Modbus TCP and RTU polling (pymodbus 3.16): `ModbusPoller` and its value objects.

`drivers.modbus.server.PanelServer` is a real Modbus TCP server for simulators and tests; it
is not imported here so that the gateway does not load the server side of pymodbus."""

from drivers.modbus.plan import ReadBlock, plan_reads
from drivers.modbus.poller import ModbusPoller
from drivers.modbus.types import (
    DeviceSpec,
    DeviceState,
    LinkChanged,
    ModbusEvent,
    Point,
    PointChanged,
    PollFailed,
    SerialSpec,
    Table,
)

__all__ = [
    "DeviceSpec",
    "DeviceState",
    "LinkChanged",
    "ModbusEvent",
    "ModbusPoller",
    "Point",
    "PointChanged",
    "PollFailed",
    "ReadBlock",
    "SerialSpec",
    "Table",
    "plan_reads",
]
