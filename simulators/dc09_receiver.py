"""A simulated SIA DC-09 alarm receiving centre (110 接警中心, spec 4.2), on TCP and UDP at
the same port.

Each frame is checked as a DC-09 receiver does: framing, CRC and length (a bad one gets no
answer at all, DC-09 C.2.3.5), the account (unknown: DUH), encryption (a plain message when a
key is configured, or the reverse, or one that does not decrypt: NAK), the timestamp window
(NAK with our time), and the SIA data (unreadable: DUH). A good message gets an ACK with its
sequence number, encrypted when the message was. Failures can be injected: `nak_first` NAKs
the first N events (not NULLs), `silent` (or `set_silent`) reads and never answers.

The timestamp window is the one DC-09-2013 5.5.1.8 is implemented with by pysiaalarm
(`allowed_timeband=(40, 20)`) and ioBroker.sia ("+20 or -40 seconds"): a message may be up to
40 s older and 20 s newer than our clock. Accepted events are recorded in `events` (repeats,
same account, sequence number, code and zone, flagged `duplicate`) and printed one per line;
NULL link tests are counted in `nulls`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from gateway.errors import ConfigError
from gateway.linkage.dc09.cipher import FrameError, PadSource, key_bytes, random_pad
from gateway.linkage.dc09.events import parse_event_data
from gateway.linkage.dc09.frame import (
    CR,
    Frame,
    Message,
    Token,
    ack,
    build,
    duh,
    nak,
    open_frame,
    unframe,
)
from gateway.linkage.dc09.transport import READ_LIMIT, frame_of
from simulators.http import listen

log = logging.getLogger(__name__)

WRITE_TIMEOUT_S = 5.0
BIND_ATTEMPTS = 5
LABELS = {"PA": "紧急报警", "PR": "紧急报警恢复", "RX": "报警测试", "TA": "防拆报警"}


@dataclass(frozen=True, slots=True)
class Dc09ReceiverOptions:
    host: str = "127.0.0.1"
    port: int = 7000  # 0: a free port, see Dc09Receiver.port
    key: str | None = None  # 16/24/32 hex characters, used as written (spec 4.2)
    accounts: frozenset[str] | None = None  # None: any account
    max_skew_s: float = 20.0  # a timestamp further ahead of our clock gets a NAK
    max_age_s: float = 40.0  # one further behind gets a NAK
    nak_first: int = 0  # NAK the first N well-formed events
    silent: bool = False  # read everything, answer nothing
    idle_timeout_s: float = 600.0  # close a TCP connection that says nothing for this long


@dataclass(frozen=True, slots=True)
class ReceivedEvent:
    account: str
    seq: int
    code: str
    zone: int
    area: int | None
    timestamp: datetime | None
    encrypted: bool
    transport: str
    raw: bytes
    duplicate: bool
    received_at: datetime


class _Refused(Exception):
    def __init__(self, answer: Message, reason: str) -> None:
        super().__init__(reason)
        self.answer = answer
        self.reason = reason


def _utc_now() -> datetime:
    return datetime.now(UTC)


class Dc09Receiver:
    def __init__(
        self,
        options: Dc09ReceiverOptions,
        *,
        clock: Callable[[], datetime] = _utc_now,
        pad: PadSource = random_pad,
    ) -> None:
        self.options = options
        try:
            self.key = key_bytes(options.key) if options.key is not None else None
        except FrameError as exc:
            raise ConfigError([f"DC-09 receiver key: {exc.detail}"]) from exc
        accounts = options.accounts
        self.accounts = frozenset(a.upper() for a in accounts) if accounts is not None else None
        self.silent = options.silent
        self.port = 0  # bound port, once serving
        self.events: list[ReceivedEvent] = []
        self.nulls = 0
        self.counts: Counter[str] = Counter()  # ack, nak, duh, garbage, unanswered
        self._naks_left = options.nak_first
        self._seen: set[tuple[str, int, str, int]] = set()
        self._clock = clock
        self._pad = pad
        self._writers: set[asyncio.StreamWriter] = set()

    def set_silent(self, silent: bool) -> None:
        self.silent = silent

    def handle(self, raw: bytes, transport: str = "tcp") -> bytes | None:
        """The answer to one received frame, or None when it gets none."""
        now = self._clock()
        try:
            frame = unframe(frame_of(raw.rstrip(b"\x00")))
        except FrameError as exc:
            self.counts["garbage"] += 1
            log.warning("110 DC-09 %s: ignored, no answer: %s", transport, exc)
            return None
        if self.silent:
            self.counts["unanswered"] += 1
            return None
        try:
            answer = self._accept(frame, raw, transport, now)
        except _Refused as refused:
            answer = refused.answer
            log.warning(
                "110 DC-09 %s: %s seq %04d account %s -> %s: %s",
                transport,
                frame.token,
                frame.seq,
                frame.account,
                answer.token,
                refused.reason,
            )
        self.counts[answer.token.lower()] += 1
        return build(answer, self.key if answer.encrypted else None, pad=self._pad)

    def _accept(self, frame: Frame, raw: bytes, transport: str, now: datetime) -> Message:
        if frame.token not in (Token.SIA_DCS, Token.NULL):
            raise _Refused(duh(frame), f"id token {frame.token} is not handled here")
        account = (frame.account or "").upper()
        if frame.account is None or (self.accounts is not None and account not in self.accounts):
            raise _Refused(duh(frame), f"unknown account {frame.account}")
        if frame.encrypted and self.key is None:
            raise _Refused(nak(now), "encrypted, and no key is configured")
        if not frame.encrypted and self.key is not None:
            raise _Refused(nak(now), "not encrypted, and a key is configured")
        try:
            message = open_frame(frame, self.key)
        except FrameError as exc:
            answer = duh(frame) if exc.reason == "data" and not frame.encrypted else nak(now)
            raise _Refused(answer, str(exc)) from exc
        if message.timestamp is not None:
            skew = (message.timestamp - now).total_seconds()
            if skew > self.options.max_skew_s or skew < -self.options.max_age_s:
                raise _Refused(nak(now), f"timestamp {skew:+.0f} s from our clock")
        if message.token == Token.NULL:
            self.nulls += 1
            return ack(message, now)
        try:
            event = parse_event_data(message.data)
        except FrameError as exc:
            raise _Refused(duh(frame), str(exc)) from exc
        if self._naks_left > 0:
            self._naks_left -= 1
            raise _Refused(nak(now), "NAK injected (nak_first)")
        self._record(message, event.code, event.zone, event.area, raw, transport, now)
        return ack(message, now)

    def _record(
        self,
        message: Message,
        code: str,
        zone: int,
        area: int | None,
        raw: bytes,
        transport: str,
        now: datetime,
    ) -> None:
        account = (message.account or "").upper()
        key = (account, message.seq, code, zone)
        duplicate = key in self._seen
        self._seen.add(key)
        event = ReceivedEvent(
            account=account,
            seq=message.seq,
            code=code,
            zone=zone,
            area=area,
            timestamp=message.timestamp,
            encrypted=message.encrypted,
            transport=transport,
            raw=raw,
            duplicate=duplicate,
            received_at=now,
        )
        self.events.append(event)
        print(_describe(event), flush=True)

    async def serve(self, host: str, port: int, *, ready: asyncio.Event | None = None) -> None:
        """Listen on TCP and UDP at host:port until cancelled."""
        tcp, udp = _bind(host, port)
        loop = asyncio.get_running_loop()
        udp_transport: asyncio.BaseTransport | None = None
        server: asyncio.Server | None = None
        try:
            self.port = tcp.getsockname()[1]
            server = await asyncio.start_server(self._client, sock=tcp, limit=READ_LIMIT)
            udp_transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpServer(self), sock=udp
            )
            log.info("110 DC-09 receiver on %s:%d (TCP and UDP)", host, self.port)
            if ready is not None:
                ready.set()
            await asyncio.Future()  # until cancelled
        finally:
            if server is not None:
                server.close()
            for writer in list(self._writers):  # the server leaves its connections open
                writer.close()
            if udp_transport is not None:
                udp_transport.close()
            tcp.close()
            udp.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                async with asyncio.timeout(self.options.idle_timeout_s):
                    chunk = await reader.readuntil(CR)
                answer = self.handle(chunk, "tcp")
                if answer is not None:
                    writer.write(answer)
                    async with asyncio.timeout(WRITE_TIMEOUT_S):
                        await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, OSError):
            pass  # the sender went away, talked garbage or nothing: drop the connection
        finally:
            self._writers.discard(writer)
            writer.close()


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, receiver: Dc09Receiver) -> None:
        self._receiver = receiver
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Python 3.11's selector transport does not subclass DatagramTransport: cast, not check.
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        answer = self._receiver.handle(data, "udp")
        if answer is not None and self._transport is not None:
            self._transport.sendto(answer, addr)


def _bind(host: str, port: int) -> tuple[socket.socket, socket.socket]:
    """A listening TCP socket and a UDP socket on the same port (port 0: a free one)."""
    for _ in range(BIND_ATTEMPTS):
        tcp = listen(host, port, "DC-09 receiver")
        address = tcp.getsockname()
        udp = socket.socket(tcp.family, socket.SOCK_DGRAM)
        try:
            udp.bind(address)
        except OSError as exc:
            tcp.close()
            udp.close()
            if port == 0:
                continue  # the free TCP port is taken on UDP: try another
            raise ConfigError([f"DC-09 receiver {host}:{port}/udp: cannot listen ({exc})"]) from exc
        return tcp, udp
    raise ConfigError([f"DC-09 receiver {host}: no port free on both TCP and UDP"])


def _describe(event: ReceivedEvent) -> str:
    what = LABELS.get(event.code, "事件")
    extras = " 加密" if event.encrypted else ""
    extras += " 重复" if event.duplicate else ""
    return (
        f"110 DC-09 接警 {event.code} {what} zone {event.zone} account {event.account}"
        f" seq {event.seq:04d} {event.transport}{extras}"
    )


async def serve_dc09_receiver(
    options: Dc09ReceiverOptions,
    *,
    ready: asyncio.Event | None = None,
    receiver: Dc09Receiver | None = None,
) -> None:
    """Serve a DC-09 receiving centre at `options.host:options.port` (TCP and UDP) until
    cancelled; `ready` is set once both listen. A given `receiver` answers by its own
    options and keeps its records across restarts; its `port` is the bound port."""
    receiver = receiver if receiver is not None else Dc09Receiver(options)
    await receiver.serve(options.host, options.port, ready=ready)
