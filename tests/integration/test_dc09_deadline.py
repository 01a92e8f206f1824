"""A DC-09 attempt has one deadline and a bounded read, whatever the receiver sends back
(issue 17, point 4): hand-written receivers on 127.0.0.1 that trickle their ACK a byte at a
time, never end their line, or flood frames nobody can read."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from gateway.errors import DeliveryFailed
from gateway.linkage.dc09 import SiaDc09Sender, ack, build, parse
from gateway.linkage.dc09.sender import MAX_IGNORED
from gateway.linkage.senders import OutgoingAlarm
from gateway.settings import SiaDc09Endpoint
from tests.support.police import eventually
from tests.support.services import free_port

DEADLINE_S = 1.0
SLACK_S = 2.5  # scheduling allowance on a loaded two-core machine
SOCKET_BUFFERS = 32 << 20  # what the loopback buffers may hold; the sender's share is bounded
FLOOD = b"A" * 65536


def endpoint(port: int, transport: str = "tcp") -> SiaDc09Endpoint:
    return SiaDc09Endpoint(
        id="city-110-dc09",
        kind="sia-dc09",
        host="127.0.0.1",
        port=port,
        transport=transport,
        account="1A2B",
        timeout_s=DEADLINE_S,
        supervision_s=60.0,
    )


def emergency() -> OutgoingAlarm:
    return OutgoingAlarm("alm-1", "emergency", b"{}", zone=3, occurred_at=datetime.now(UTC))


@dataclass
class Peer:
    port: int
    written: list[int] = field(default_factory=list)  # bytes written, per connection
    ended: int = 0  # connections that ended (the sender hung up)


Reply = Callable[[bytes, asyncio.StreamWriter, list[int]], Awaitable[None]]


@asynccontextmanager
async def tcp_peer(reply: Reply) -> AsyncIterator[Peer]:
    peer = Peer(free_port())
    handlers: set[asyncio.Task[Any]] = set()

    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        index = len(peer.written)
        peer.written.append(0)
        counter = [0]
        try:
            frame = await reader.readuntil(b"\r")
            await reply(frame, writer, counter)
        except (OSError, asyncio.IncompleteReadError):
            pass  # the sender hung up
        finally:
            peer.written[index] = counter[0]
            peer.ended += 1
            handlers.discard(task)
            writer.close()

    server = await asyncio.start_server(talk, "127.0.0.1", peer.port)
    try:
        yield peer
    finally:
        server.close()
        for task in list(handlers):
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)


async def trickle_ack(frame: bytes, writer: asyncio.StreamWriter, counter: list[int]) -> None:
    answer = build(ack(parse(frame), datetime.now(UTC)))  # a valid ACK, a byte every 0.2 s
    for n in range(len(answer)):
        writer.write(answer[n : n + 1])
        await writer.drain()
        counter[0] += 1
        await asyncio.sleep(0.2)


async def endless_line(frame: bytes, writer: asyncio.StreamWriter, counter: list[int]) -> None:
    writer.write(b"\n")
    while True:
        writer.write(FLOOD)
        await writer.drain()
        counter[0] += len(FLOOD)


async def garbage_frames(frame: bytes, writer: asyncio.StreamWriter, counter: list[int]) -> None:
    junk = b"\nnot a frame\r" * 4096
    while True:
        writer.write(junk)
        await writer.drain()
        counter[0] += len(junk)


async def attempt(port: int, transport: str = "tcp") -> tuple[DeliveryFailed, float]:
    dc09 = SiaDc09Sender(endpoint(port, transport))
    started = time.monotonic()
    try:
        async with asyncio.timeout(DEADLINE_S + SLACK_S):
            with pytest.raises(DeliveryFailed) as failed:
                await dc09.send(emergency())
    finally:
        await dc09.aclose()
    return failed.value, time.monotonic() - started


async def test_a_trickled_ack_fails_the_attempt_at_its_deadline() -> None:
    async with tcp_peer(trickle_ack) as peer:
        failed, elapsed = await attempt(peer.port)
    assert failed.detail.startswith("no answer within 1s (waiting for an answer from")
    assert elapsed >= DEADLINE_S - 0.1
    assert 0 < peer.written[0] < 20  # it had only begun


async def test_an_endless_line_is_refused_at_the_read_limit() -> None:
    async with tcp_peer(endless_line) as peer:
        failed, _ = await attempt(peer.port)
        await eventually(lambda: peer.ended == 1, 5, "the sender to hang up")
    assert "no <CR> within" in failed.detail
    assert peer.written[0] < SOCKET_BUFFERS


async def test_a_flood_of_unreadable_frames_ends_the_attempt_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="gateway.linkage.dc09")
    async with tcp_peer(garbage_frames) as peer:
        failed, elapsed = await attempt(peer.port)
        await eventually(lambda: peer.ended == 1, 5, "the sender to hang up")
    assert failed.detail.startswith(f"{MAX_IGNORED} unreadable or unrelated answers from")
    assert elapsed < DEADLINE_S  # it gave up on the flood, not at the deadline
    unreadable = [r for r in caplog.records if "unreadable answer ignored" in r.getMessage()]
    assert len(unreadable) == 1


class _Flooder(asyncio.DatagramProtocol):
    """Answers every datagram with more unreadable datagrams than an attempt may skip."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        for _ in range(MAX_IGNORED * 4):  # some may be dropped on the way: UDP
            self.transport.sendto(b"\nnot a frame\r", addr)


async def test_a_flood_of_unreadable_datagrams_ends_the_attempt() -> None:
    port = free_port()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(_Flooder, local_addr=("127.0.0.1", port))
    try:
        failed, elapsed = await attempt(port, "udp")
    finally:
        transport.close()
    assert failed.detail.startswith(f"{MAX_IGNORED} unreadable or unrelated answers from")
    assert elapsed < DEADLINE_S
