"""Moving DC-09 frames over TCP (one kept connection) or UDP (one datagram each way).

Links raise OSError subclasses (ConnectionError for a closed or refused peer); the sender
bounds every call with its timeout and turns the errors into DeliveryFailed."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

from gateway.linkage.dc09.frame import CR, LF, MAX_LENGTH

READ_LIMIT = MAX_LENGTH + 64  # the longest frame and some noise before its <LF>
CLOSE_TIMEOUT_S = 1.0
QUEUE_SIZE = 64


def frame_of(chunk: bytes) -> bytes:
    """The frame at the end of a chunk: from its last <LF> (noise before it is dropped)."""
    start = chunk.rfind(LF)
    return chunk[start:] if start >= 0 else chunk


class Link(Protocol):
    def usable(self) -> bool: ...

    async def send(self, frame: bytes) -> None: ...

    async def receive(self) -> bytes:
        """The next frame from the receiver (it may be garbage: the caller parses it)."""
        ...

    async def close(self) -> None: ...


class TcpLink:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> TcpLink:
        reader, writer = await asyncio.open_connection(host, port, limit=READ_LIMIT)
        return cls(reader, writer)

    def usable(self) -> bool:
        # A receiver that closed (restart) leaves EOF in the buffer: reconnect before sending.
        return not (self._reader.at_eof() or self._writer.is_closing())

    async def send(self, frame: bytes) -> None:
        self._writer.write(frame)
        await self._writer.drain()

    async def receive(self) -> bytes:
        try:
            return frame_of(await self._reader.readuntil(CR))
        except asyncio.IncompleteReadError as exc:
            raise ConnectionResetError("the receiver closed the connection") from exc
        except asyncio.LimitOverrunError as exc:
            raise ConnectionError(f"no <CR> within {READ_LIMIT} bytes from the receiver") from exc

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(self._writer.wait_closed(), CLOSE_TIMEOUT_S)


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | Exception] = asyncio.Queue(QUEUE_SIZE)
        self.closed = False

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._put(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives here as ConnectionRefusedError: fail fast, not by timeout.
        self._put(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._put(exc or ConnectionAbortedError("the UDP socket was closed"))

    def _put(self, item: bytes | Exception) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a flood is dropped, not buffered
            self.queue.put_nowait(item)


class UdpLink:
    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Datagrams) -> None:
        self._transport = transport
        self._protocol = protocol

    @classmethod
    async def open(cls, host: str, port: int) -> UdpLink:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            _Datagrams, remote_addr=(host, port)
        )
        return cls(transport, protocol)

    def usable(self) -> bool:
        return not (self._protocol.closed or self._transport.is_closing())

    async def send(self, frame: bytes) -> None:
        while not self._protocol.queue.empty():  # answers and errors left from before
            self._protocol.queue.get_nowait()
        self._transport.sendto(frame)

    async def receive(self) -> bytes:
        item = await self._protocol.queue.get()
        if isinstance(item, Exception):
            raise item
        return frame_of(item.rstrip(b"\x00"))

    async def close(self) -> None:
        self._transport.close()


async def open_link(transport: str, host: str, port: int) -> Link:
    if transport == "udp":
        return await UdpLink.open(host, port)
    return await TcpLink.open(host, port)
