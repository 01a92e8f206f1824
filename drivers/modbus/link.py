"""One Modbus link (a TCP host:port, or a serial port) and the single connection over it.

Devices on one link share its connection and take turns through its lock: a serial line, or
a TCP-to-RTU gateway in front of one, carries one request at a time. A unit that does not
answer therefore delays the other units on *its* link by up to its timeout per poll; devices
on other links have their own connection and lock and are never delayed by it.

pymodbus and OS errors end here: every failure leaves as `DeviceUnavailable` with a readable
reason. pymodbus's own timeout is set above ours with no retries and no automatic reconnect,
so one failed request is one failed poll and reconnecting follows our backoff alone."""

from __future__ import annotations

import asyncio
import errno
import random
import struct
from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import Any

from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient, ModbusBaseClient
from pymodbus.exceptions import ConnectionException, ModbusException
from pymodbus.pdu import ModbusPDU

from drivers.modbus.mbap import Expected, answer_problem, late_prefix
from drivers.modbus.plan import ReadBlock
from drivers.modbus.types import DeviceSpec, Table
from gateway.errors import DeviceUnavailable

FUNCTION_CODES = {
    Table.COIL: 1,
    Table.DISCRETE_INPUT: 2,
    Table.HOLDING_REGISTER: 3,
    Table.INPUT_REGISTER: 4,
}
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    7: "negative acknowledge",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}
# A TCP connection on which this many requests in a row went unanswered may be half-open
# (a cable pulled, a device rebooted without a reset): open a fresh one.
SILENT_REQUESTS_BEFORE_RECONNECT = 3
# pymodbus's own timeout, as a multiple of ours: ours always fires first.
PYMODBUS_TIMEOUT_FACTOR = 2.0
LATE_ANSWERS_REMEMBERED = 8
# The client's read call for each table.
READ_METHODS = {
    Table.COIL: "read_coils",
    Table.DISCRETE_INPUT: "read_discrete_inputs",
    Table.HOLDING_REGISTER: "read_holding_registers",
    Table.INPUT_REGISTER: "read_input_registers",
}
_NORMAL_HEADER = struct.Struct(">HHHBBB")  # MBAP header, function code, byte count
# Bytes asked of the socket per read. asyncio asks 256 KiB, so every answer of a dozen bytes
# costs a 256 KiB buffer, which glibc may map and unmap each time (three system calls and a
# page fault per poll); a Modbus TCP frame is at most 260 bytes.
TCP_READ_SIZE = 4096


class ModbusLink:
    """The connection shared by `devices` (all on one link). `read` raises DeviceUnavailable."""

    def __init__(self, devices: Sequence[DeviceSpec]) -> None:
        first = devices[0]
        self.key = first.link
        self._host = first.host
        self._port = first.port
        self._serial = first.serial
        self._where = f"{first.host}:{first.port}" if first.serial is None else first.serial.port
        # Shared by several devices: the most patient timeout, the quickest backoff.
        self._pymodbus_timeout = PYMODBUS_TIMEOUT_FACTOR * max(d.timeout_s for d in devices)
        self._initial_s = min(d.reconnect_initial_s for d in devices)
        self._max_s = min(d.reconnect_max_s for d in devices)
        self._lock = asyncio.Lock()
        self._client: ModbusBaseClient | None = None
        self._generation = 0  # callbacks of a replaced client are ignored
        self._delay = self._initial_s
        self._retry_at = 0.0
        self._last_error = ""
        self._answered = False  # something was answered on the current connection
        self._silent = 0
        # The request in flight: what it waits for, and what went wrong while it waited.
        self._pending: tuple[int, int, int] | None = None  # unit, function code, data bytes
        self._sent: int | None = None  # its transaction id, once sent (TCP)
        # The first bytes of its normal answer, and that answer's length (unit 0: none; the
        # answer may come from any unit).
        self._normal: tuple[bytes, int] | None = None
        self._late: deque[int] = deque(maxlen=LATE_ANSWERS_REMEMBERED)
        self._earlier: frozenset[int] = frozenset()  # self._late, as Expected wants it
        self._deadline: asyncio.Timeout | None = None
        self._problem: str | None = None
        self._dropped = False
        self._received = 0

    async def read(
        self, unit: int, block: ReadBlock, timeout_s: float
    ) -> Sequence[bool] | Sequence[int]:
        """The bits or registers of `block` from `unit`, at least `block.count` of them."""
        async with self._lock:
            client = self._client
            if client is None or not client.connected:
                client = await self._connected(timeout_s)
            return await self._request(client, unit, block, timeout_s)

    async def check(self, timeout_s: float) -> None:
        """Make sure the link is connected (a device without points has nothing to read)."""
        async with self._lock:
            await self._connected(timeout_s)

    def close(self) -> None:
        """Close the connection (the poller's exit; the link is not used afterwards)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- connecting ------------------------------------------------------------------------

    async def _connected(self, timeout_s: float) -> ModbusBaseClient:
        client = self._client
        if client is not None and client.connected:
            return client
        loop = asyncio.get_running_loop()
        if client is not None:  # dropped while idle
            self._lost(f"connection to {self._where} closed by the device", at_once=self._answered)
        if loop.time() < self._retry_at:  # backing off: fail this poll without a new attempt
            raise DeviceUnavailable(self._last_error)
        client = self._new_client()
        failure: list[OSError] = []
        create = client.ctx.call_create

        async def create_and_keep_reason() -> Any:
            # pymodbus's connect() logs the OSError and returns False; keep it for the detail.
            try:
                return await create()
            except OSError as exc:
                failure.append(exc)
                raise

        client.ctx.call_create = create_and_keep_reason
        try:
            async with asyncio.timeout(timeout_s):
                connected = await client.connect()
        except TimeoutError as exc:
            client.close()
            self._lost(f"no connection to {self._where} within {timeout_s} s", at_once=False)
            raise DeviceUnavailable(self._last_error) from exc
        if not connected:
            client.close()
            reason = self._connect_failure(failure[0] if failure else None)
            self._lost(reason, at_once=False)
            raise DeviceUnavailable(self._last_error)
        if self._serial is None:
            _read_less(client)
        self._client = client
        self._answered = False
        self._late.clear()
        self._earlier = frozenset()
        return client

    def _new_client(self) -> ModbusBaseClient:
        self._generation += 1
        options: dict[str, Any] = {
            "name": self.key,
            "reconnect_delay": 0,  # no reconnecting behind our back
            "timeout": self._pymodbus_timeout,
            "retries": 0,
            "trace_packet": partial(self._on_packet, self._generation),
            "trace_connect": partial(self._on_connection, self._generation),
        }
        if self._serial is None:
            assert self._host is not None
            return AsyncModbusTcpClient(self._host, port=self._port, **options)
        s = self._serial
        try:
            return AsyncModbusSerialClient(
                s.port,
                baudrate=s.baudrate,
                parity=s.parity,
                stopbits=s.stopbits,
                bytesize=s.bytesize,
                **options,
            )
        except RuntimeError as exc:  # pymodbus's way of saying pyserial is not installed
            raise DeviceUnavailable(
                f"Modbus RTU on {s.port} needs pyserial (pip install pyserial)"
            ) from exc

    def _connect_failure(self, exc: OSError | None) -> str:
        where = self._where
        if exc is None:
            return f"cannot connect to {where}"
        if self._serial is not None:  # pyserial's message names the port and the reason
            return exc.strerror or str(exc) or f"cannot open {where}"
        if isinstance(exc, ConnectionRefusedError):
            return f"connection refused by {where}"
        if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            return f"{where} is unreachable ({exc.strerror})"
        return f"cannot connect to {where}: {exc.strerror or exc or type(exc).__name__}"

    def _lost(self, reason: str, *, at_once: bool) -> None:
        """Forget the connection. The next attempt waits out the backoff, or is made at the
        next poll (`at_once`) after a connection that worked: a device that restarted is
        worth one immediate retry, one that never answered properly is not."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self._last_error = reason
        loop = asyncio.get_running_loop()
        if at_once:
            self._retry_at = loop.time()
            self._delay = self._initial_s
        else:
            self._retry_at = loop.time() + self._delay * random.uniform(0.5, 1.0)
            self._delay = min(self._max_s, self._delay * 2)
        self._answered = False

    # -- one request -----------------------------------------------------------------------

    async def _request(
        self, client: ModbusBaseClient, unit: int, block: ReadBlock, timeout_s: float
    ) -> Sequence[bool] | Sequence[int]:
        table = block.table
        function = FUNCTION_CODES[table]
        data_bytes = (block.count + 7) // 8 if table.is_bits else 2 * block.count
        self._pending = (unit, function, data_bytes)
        self._problem, self._dropped, self._received = None, False, 0
        read = getattr(client, READ_METHODS[table])
        try:
            async with asyncio.timeout(timeout_s) as deadline:
                self._deadline = deadline
                response: ModbusPDU = await read(block.start, count=block.count, device_id=unit)
        except TimeoutError as exc:
            raise self._no_answer(block, timeout_s) from exc
        except ConnectionException as exc:  # pymodbus noticed the drop before sending
            raise self._broken(f"connection closed by the device reading {block}") from exc
        except (ModbusException, OSError) as exc:
            raise self._broken(f"{exc} reading {block}") from exc
        finally:
            self._deadline, self._pending, self._sent, self._normal = None, None, None, None
        self._answered, self._silent, self._delay = True, 0, self._initial_s
        return _values(response, block)

    def _broken(self, detail: str) -> DeviceUnavailable:
        """The connection cannot be trusted after this failure: drop it and say why. Polls
        while waiting to reconnect report the same detail."""
        self._lost(detail, at_once=self._answered)
        return DeviceUnavailable(detail)

    def _no_answer(self, block: ReadBlock, timeout_s: float) -> DeviceUnavailable:
        if self._problem is not None:  # out of step with the device: resynchronise
            return self._broken(f"malformed answer reading {block}: {self._problem}")
        if self._dropped:
            return self._broken(f"connection closed by the device reading {block}")
        if self._sent is not None:
            self._late.append(self._sent)
            self._earlier = frozenset(self._late)
        detail = f"timeout after {timeout_s} s reading {block}"
        if self._received:
            detail += f" (incomplete answer: {self._received} bytes)"
        self._silent += 1
        if self._serial is None and self._silent >= SILENT_REQUESTS_BEFORE_RECONNECT:
            self._lost(detail, at_once=True)
            self._silent = 0
        return DeviceUnavailable(detail)

    def _fail_now(self) -> None:
        """End the request in flight now instead of at its timeout (reason already noted)."""
        deadline = self._deadline
        if deadline is not None and not deadline.expired():
            deadline.reschedule(asyncio.get_running_loop().time())

    def _on_packet(self, generation: int, sending: bool, data: bytes) -> bytes:
        """pymodbus hook on every frame sent and on the receive buffer as it grows."""
        if generation != self._generation or self._serial is not None:
            return data  # RTU: pymodbus checks the CRC
        if sending:
            if self._pending is not None and len(data) >= 2:
                unit, function, data_bytes = self._pending
                tid = int.from_bytes(data[:2], "big")
                self._sent = tid
                header = _NORMAL_HEADER.pack(tid, 0, 3 + data_bytes, unit, function, data_bytes)
                self._normal = (header, 9 + data_bytes) if unit else None
            return data
        if self._sent is None or self._problem is not None:
            return b""  # nothing in flight: late or unsolicited bytes, left undecoded
        normal = self._normal
        if normal is not None and len(data) == normal[1] and data.startswith(normal[0]):
            self._received = len(data)  # exactly the normal answer: nothing to check
            return data
        expected = self._expected()
        problem = answer_problem(data, expected)
        if problem is None:
            self._received = len(data) - late_prefix(data, expected)
            return data
        self._problem = problem
        self._fail_now()
        return b""

    def _expected(self) -> Expected:
        """What the answer to the request in flight must look like."""
        assert self._pending is not None and self._sent is not None
        unit, function, data_bytes = self._pending
        return Expected(self._sent, unit, function, data_bytes, self._earlier)

    def _on_connection(self, generation: int, connected: bool) -> None:
        if generation == self._generation and not connected:
            self._dropped = True
            self._fail_now()


def _read_less(client: ModbusBaseClient) -> None:
    """Make the asyncio socket transport under `client` read TCP_READ_SIZE at a time (its
    `max_size`; left alone where there is no such attribute)."""
    transport = getattr(client.ctx, "transport", None)
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = TCP_READ_SIZE  # type: ignore[union-attr]


def _values(response: ModbusPDU, block: ReadBlock) -> Sequence[bool] | Sequence[int]:
    if response.isError():
        code = response.exception_code
        name = EXCEPTION_NAMES.get(code, "unknown exception code")
        raise DeviceUnavailable(f"exception response {code} ({name}) reading {block}")
    raw: Sequence[bool] | Sequence[int]
    raw = response.bits if block.table.is_bits else response.registers
    if len(raw) < block.count:
        raise DeviceUnavailable(
            f"short answer reading {block}: {len(raw)} values instead of {block.count}"
        )
    return raw
