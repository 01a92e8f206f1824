"""Modbus test helpers: a hostile Modbus TCP peer, and a recorder of a poller's events.

`ModbusPeer` is a raw asyncio TCP server that speaks just enough Modbus TCP (MBAP header,
read function codes 1-4) to misbehave in one chosen way; `mode` may be changed while it
runs. It is a real peer on a real socket, not a mock of pymodbus."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType

from drivers.modbus import (
    DeviceSpec,
    LinkChanged,
    ModbusEvent,
    ModbusPoller,
    PointChanged,
    PollFailed,
)

MBAP = struct.Struct(">HHHB")


class PeerMode(StrEnum):
    HEALTHY = "healthy"  # correct answers, every value 0
    EXCEPTION = "exception"  # exception response 2 (illegal data address)
    GARBAGE = "garbage"  # bytes that are not Modbus TCP at all
    WRONG_LENGTH = "wrong_length"  # the MBAP length disagrees with the PDU
    WRONG_TRANSACTION = "wrong_transaction"  # a good answer with another transaction id
    WRONG_UNIT = "wrong_unit"  # a good answer from another unit id
    WRONG_FUNCTION = "wrong_function"  # an answer with another function code
    SHORT = "short"  # a consistent frame with fewer data bytes than asked for
    TRUNCATED = "truncated"  # the first part of a good answer, then nothing
    SILENT = "silent"  # reads requests, never answers
    SLOW = "slow"  # answers correctly, after `slow_s`
    CLOSE = "close"  # accepts a connection and closes it at once


def good_answer(tid: int, unit: int, function: int, count: int) -> bytes:
    data_bytes = (count + 7) // 8 if function in (1, 2) else 2 * count
    pdu = bytes([function, data_bytes]) + bytes(data_bytes)
    return MBAP.pack(tid, 0, len(pdu) + 1, unit) + pdu


def hostile_answer(mode: PeerMode, tid: int, unit: int, function: int, count: int) -> bytes:
    """The bytes sent for one read request in `mode` (empty: send nothing)."""
    good = good_answer(tid, unit, function, count)
    match mode:
        case PeerMode.HEALTHY | PeerMode.SLOW:
            return good
        case PeerMode.EXCEPTION:
            return MBAP.pack(tid, 0, 3, unit) + bytes([function | 0x80, 2])
        case PeerMode.GARBAGE:
            return b"HTTP/1.1 400 Bad Request\r\n\r\n"
        case PeerMode.WRONG_LENGTH:
            return good[:4] + (len(good) - 6 + 5).to_bytes(2, "big") + good[6:]
        case PeerMode.WRONG_TRANSACTION:
            return ((tid + 1000) % 65536).to_bytes(2, "big") + good[2:]
        case PeerMode.WRONG_UNIT:
            return good[:6] + bytes([(unit + 1) % 256]) + good[7:]
        case PeerMode.WRONG_FUNCTION:
            return good[:7] + bytes([function % 4 + 1]) + good[8:]
        case PeerMode.SHORT:
            pdu = bytes([function, 1, 0]) if function in (3, 4) else bytes([function, 0])
            return MBAP.pack(tid, 0, len(pdu) + 1, unit) + pdu
        case PeerMode.TRUNCATED:
            return good[:-1]
        case PeerMode.SILENT | PeerMode.CLOSE:
            return b""


class ModbusPeer:
    """`async with ModbusPeer(PeerMode.GARBAGE) as peer:` listens on 127.0.0.1:`peer.port`."""

    def __init__(self, mode: PeerMode, *, slow_s: float = 0.5) -> None:
        self.mode = mode
        self.slow_s = slow_s
        self.port = 0
        self.requests = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ModbusPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in self._handlers:
            task.cancel()
        await asyncio.gather(*self._handlers)
        await self._server.wait_closed()

    def _closing(self) -> bool:
        return self.mode is PeerMode.CLOSE

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            if self._closing():
                return
            while True:
                header = await reader.readexactly(MBAP.size)
                tid, _, length, unit = MBAP.unpack(header)
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                function = pdu[0]
                count = int.from_bytes(pdu[3:5], "big")
                mode = self.mode  # may have been changed since the connection was accepted
                if mode is PeerMode.CLOSE:
                    return
                if mode is PeerMode.SLOW:
                    await asyncio.sleep(self.slow_s)
                answer = hostile_answer(mode, tid, unit, function, count)
                if answer:
                    writer.write(answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except asyncio.CancelledError:
            # Ending normally: asyncio 3.11 logs a cancelled connection handler as an error.
            pass
        finally:
            self._writers.discard(writer)
            self._handlers.discard(task)
            writer.close()


@dataclass
class Recorder:
    """The events a running poller emitted so far, with a way to wait for some."""

    poller: ModbusPoller
    events: list[ModbusEvent] = field(default_factory=list)

    def of(self, device_id: str) -> list[ModbusEvent]:
        return [e for e in self.events if e.device_id == device_id]

    def changes(self, device_id: str) -> list[PointChanged]:
        return [e for e in self.of(device_id) if isinstance(e, PointChanged)]

    def failures(self, device_id: str) -> list[PollFailed]:
        return [e for e in self.of(device_id) if isinstance(e, PollFailed)]

    def links(self, device_id: str) -> list[LinkChanged]:
        return [e for e in self.of(device_id) if isinstance(e, LinkChanged)]

    async def wait(self, predicate: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
        """Wait until `predicate()` holds; fail naming `what` and showing the events."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while not predicate():
            if loop.time() > deadline:
                shown = "\n".join(repr(e) for e in self.events[-20:])
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}:\n{shown}")
            await asyncio.sleep(0.02)


@asynccontextmanager
async def recording(devices: Sequence[DeviceSpec]) -> AsyncIterator[Recorder]:
    """A running ModbusPoller over `devices` whose events are being recorded."""
    async with ModbusPoller(devices) as poller:
        recorder = Recorder(poller)

        async def consume() -> None:
            async for event in poller.events():
                recorder.events.append(event)

        task = asyncio.create_task(consume(), name="test:modbus-events")
        try:
            yield recorder
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
