"""A real Modbus TCP server for simulators, tests and benchmarks (pymodbus SimDevice +
ModbusTcpServer, not the deprecated datastore).

`async with PanelServer(port=0, units=(1, 2)) as panel: await panel.set_bit(Table.COIL, 3, True)`

One server answers for one or several unit ids on one host:port. Each unit has its own
coils, discrete inputs, holding and input registers, `size` of each from address 0, in
separate blocks (coil 5 and discrete input 5 are different values). Values are changed from
outside through the server's own datastore calls (`async_setValues`/`async_getValues`, the
path a client write takes), so a change is what the next request reads. `stop()` and
`start()` take the server off the network and back on the same port with its values kept,
as a device that reboots. Several servers, or many units in one, share a process cheaply:
a server is one listening socket and the units' values are plain lists."""

from __future__ import annotations

import asyncio
import contextvars
import socket
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any, cast

from pymodbus.constants import ExcCodes
from pymodbus.framer import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from drivers.modbus.types import MAX_UNIT, Table
from gateway.errors import DeviceUnavailable

# Read function codes; with values, the server's datastore call writes instead (any table).
_FUNCTION = {
    Table.COIL: 1,
    Table.DISCRETE_INPUT: 2,
    Table.HOLDING_REGISTER: 3,
    Table.INPUT_REGISTER: 4,
}
_TABLE_OF_FUNCTION = {
    1: Table.COIL,
    5: Table.COIL,
    15: Table.COIL,
    2: Table.DISCRETE_INPUT,
    3: Table.HOLDING_REGISTER,
    6: Table.HOLDING_REGISTER,
    16: Table.HOLDING_REGISTER,
    22: Table.HOLDING_REGISTER,
    23: Table.HOLDING_REGISTER,
    4: Table.INPUT_REGISTER,
}
# Set while this module reads or writes values itself, so that the request hook sees only
# what clients ask (the SimDevice action runs for both).
_OUR_ACCESS: contextvars.ContextVar[bool] = contextvars.ContextVar("panel_access", default=False)


@dataclass(frozen=True, slots=True)
class ServedRequest:
    """A client request as the server saw it (the start address of the read or write)."""

    unit: int
    table: Table
    address: int
    write: bool


RequestHook = Callable[[ServedRequest], None]


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A port free right now (for callers that must name the port before starting)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class PanelServer:
    """A Modbus TCP server with units `units`, each with `size` coils, discrete inputs,
    holding and input registers. `port=0` binds a free port; `port` then tells which.
    `rtu=True` frames as Modbus RTU over the TCP socket (a serial line behind a transparent
    converter; pyserial's `socket://` URL reaches it as a serial port)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        units: Sequence[int] = (1,),
        size: int = 64,
        on_request: RequestHook | None = None,
        rtu: bool = False,
    ) -> None:
        if not units or len(set(units)) != len(units):
            raise ValueError(f"units {list(units)} must be distinct and at least one")
        if any(not 0 <= unit <= MAX_UNIT for unit in units):
            raise ValueError(f"units {list(units)} must be within 0..{MAX_UNIT} (0 = any unit)")
        if not 1 <= size <= 65536:
            raise ValueError(f"size {size} must be within 1..65536")
        self.host = host
        self.port = port
        self.size = size
        self.units = tuple(units)
        self.requests: Counter[int] = Counter()  # client requests served, per unit
        self.connections = 0  # client connections accepted so far
        self._framer = FramerType.RTU if rtu else FramerType.SOCKET
        self._on_request = on_request
        self._server: ModbusTcpServer | None = None
        # The values while stopped (the server's datastore holds them while it runs).
        self._stored: dict[int, dict[Table, list[int]]] = {
            unit: {table: [0] * size for table in Table} for unit in self.units
        }

    async def __aenter__(self) -> PanelServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        """Listen (again) on host:port with the stored values. DeviceUnavailable when the
        address cannot be had (in use, not this machine's)."""
        if self._server is not None:
            return
        devices = [self._device(unit) for unit in self.units]
        server = ModbusTcpServer(
            devices,
            address=(self.host, self.port),
            framer=self._framer,
            trace_connect=self._connection_changed,
        )
        failure: list[OSError] = []
        create = server.call_create

        async def create_and_keep_reason() -> Any:
            # pymodbus logs why it cannot listen and raises a bare RuntimeError: keep the why.
            try:
                return await create()
            except OSError as exc:
                failure.append(exc)
                raise

        server.call_create = create_and_keep_reason
        try:
            await server.serve_forever(background=True)
        except RuntimeError as exc:
            reason = failure[0].strerror or str(failure[0]) if failure else str(exc)
            raise DeviceUnavailable(
                f"cannot serve Modbus TCP on {self.host}:{self.port}: {reason}"
            ) from (failure[0] if failure else exc)
        listener = cast(asyncio.Server, server.transport)
        self.port = int(listener.sockets[0].getsockname()[1])  # the bound one, for port=0
        self._server = server

    async def stop(self) -> None:
        """Close the listener and every client connection, keeping the values."""
        server = self._server
        if server is None:
            return
        for unit in self.units:
            for table in Table:
                values = await self._access(server, unit, table, 0, None, self.size)
                self._stored[unit][table] = [int(v) for v in values]
        self._server = None
        await server.shutdown()  # type: ignore[no-untyped-call]

    async def set_bit(self, table: Table, address: int, value: bool, unit: int = 1) -> None:
        """Set a coil or discrete input."""
        self._check(table, address, unit, bits=True)
        await self._write(unit, table, address, int(value))

    async def get_bit(self, table: Table, address: int, unit: int = 1) -> bool:
        self._check(table, address, unit, bits=True)
        return bool(await self._read(unit, table, address))

    async def set_register(self, table: Table, address: int, value: int, unit: int = 1) -> None:
        """Set a holding or input register (0..65535)."""
        self._check(table, address, unit, bits=False)
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"register value {value} is outside 0..65535")
        await self._write(unit, table, address, value)

    async def get_register(self, table: Table, address: int, unit: int = 1) -> int:
        self._check(table, address, unit, bits=False)
        return await self._read(unit, table, address)

    async def set_register_bit(
        self, table: Table, address: int, bit: int, value: bool, unit: int = 1
    ) -> None:
        """Set one bit (0 = least significant) of a register, keeping the others."""
        if not 0 <= bit <= 15:
            raise ValueError(f"bit {bit} is outside 0..15")
        current = await self.get_register(table, address, unit)
        changed = current | (1 << bit) if value else current & ~(1 << bit)
        await self.set_register(table, address, changed, unit)

    # -- internals -------------------------------------------------------------------------

    def _device(self, unit: int) -> SimDevice:
        stored = self._stored[unit]
        blocks = [
            [SimData(0, values=[bool(v) for v in stored[t]], datatype=DataType.BITS)]
            for t in (Table.COIL, Table.DISCRETE_INPUT)
        ] + [
            [SimData(0, values=list(stored[t]), datatype=DataType.REGISTERS)]
            for t in (Table.HOLDING_REGISTER, Table.INPUT_REGISTER)
        ]
        return SimDevice(
            id=unit,
            simdata=(blocks[0], blocks[1], blocks[2], blocks[3]),
            action=partial(self._served, unit),
        )

    async def _served(
        self,
        unit: int,
        function_code: int,
        _start: int,
        address: int,
        _count: int,
        _registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        """The SimDevice action: runs inside the server for every access to the unit."""
        if not _OUR_ACCESS.get():
            self.requests[unit] += 1
            if self._on_request is not None:
                table = _TABLE_OF_FUNCTION.get(function_code, Table.HOLDING_REGISTER)
                self._on_request(ServedRequest(unit, table, address, set_values is not None))
        return None

    def _connection_changed(self, connected: bool) -> None:
        if connected:
            self.connections += 1

    def _check(self, table: Table, address: int, unit: int, *, bits: bool) -> None:
        if table.is_bits != bits:
            kind = "a coil or discrete input" if bits else "a holding or input register"
            raise ValueError(f"{table} is not {kind}")
        if unit not in self._stored:
            raise ValueError(f"unit {unit} is not served here (units {list(self.units)})")
        if not 0 <= address < self.size:
            raise ValueError(f"{table} {address} is outside 0..{self.size - 1}")

    async def _write(self, unit: int, table: Table, address: int, value: int) -> None:
        if self._server is None:
            self._stored[unit][table][address] = value
            return
        await self._access(self._server, unit, table, address, value, 1)

    async def _read(self, unit: int, table: Table, address: int) -> int:
        if self._server is None:
            return self._stored[unit][table][address]
        return int((await self._access(self._server, unit, table, address, None, 1))[0])

    async def _access(
        self,
        server: ModbusTcpServer,
        unit: int,
        table: Table,
        address: int,
        value: int | None,
        count: int,
    ) -> list[int] | list[bool]:
        token = _OUR_ACCESS.set(True)
        try:
            function = _FUNCTION[table]
            if value is None:
                return await server.async_getValues(unit, function, address, count)
            written: list[int] | list[bool] = [bool(value)] if table.is_bits else [value]
            await server.async_setValues(unit, function, address, written)
            return written
        finally:
            _OUR_ACCESS.reset(token)
