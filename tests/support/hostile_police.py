"""Police endpoints that misbehave on purpose, as raw HTTP/1.1 over asyncio TCP on a free port
(a real server on 127.0.0.1, written by hand because no framework would answer this badly):
one that trickles its answer a byte at a time, one that never ends its body."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from tests.support.services import free_port

# A complete, valid 200: trickled at one byte per 0.5 s it takes about two minutes.
SLOW_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Pad: "
    + b"." * 200
    + b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
)
PROMPT_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
CHUNK = b"x" * 65536


@dataclass
class HostileEndpoint:
    """`trickle`: answer one byte every `trickle_s` (True) or at once (False); may be changed
    while running. `endless_status`: when set, answer that status and a body that never ends.
    Records the alarm ids received (in order), those answered completely, and the body bytes
    written to each connection."""

    trickle: bool = True
    trickle_s: float = 0.5
    endless_status: int | None = None
    port: int = field(default_factory=free_port)
    received: list[str] = field(default_factory=list)
    answered: list[str] = field(default_factory=list)
    written: list[int] = field(default_factory=list)
    finished: int = 0  # connections whose handler has ended
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/alarms"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            alarm_id = str(json.loads(body)["alarm_id"])
            self.received.append(alarm_id)
            if self.endless_status is not None:
                await self._endless(writer, self.endless_status)
            elif self.trickle:
                for n in range(len(SLOW_ANSWER)):
                    writer.write(SLOW_ANSWER[n : n + 1])
                    await writer.drain()
                    await asyncio.sleep(self.trickle_s)
                self.answered.append(alarm_id)
            else:
                writer.write(PROMPT_ANSWER)
                await writer.drain()
                self.answered.append(alarm_id)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the gateway hung up: what this endpoint is for
        finally:
            self._handlers.discard(task)
            self.finished += 1
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _endless(self, writer: asyncio.StreamWriter, status: int) -> None:
        writer.write(
            f"HTTP/1.1 {status} Whatever\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {1 << 40}\r\n\r\n".encode()
        )
        index = len(self.written)
        self.written.append(0)
        while True:  # until the reader hangs up
            writer.write(CHUNK)
            await writer.drain()
            self.written[index] += len(CHUNK)


@asynccontextmanager
async def hostile_endpoint(**options: object) -> AsyncIterator[HostileEndpoint]:
    endpoint = HostileEndpoint(**options)  # type: ignore[arg-type]
    server = await asyncio.start_server(endpoint._handle, "127.0.0.1", endpoint.port)
    try:
        yield endpoint
    finally:
        server.close()
        handlers = list(endpoint._handlers)  # still trickling: ended with their connections
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await server.wait_closed()
