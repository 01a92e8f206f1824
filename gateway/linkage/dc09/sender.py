"""The SIA DC-09 police sender (spec 4.2): one attempt per `send`, like the webhook sender.

One message is in flight at a time (DC-09 pairs each answer with its sequence number; a lock
keeps the answers unambiguous). TCP keeps one connection, opened on first use and again
after any error or silence; UDP sends one datagram and waits for the answer datagram.
Each attempt, connection included, has `timeout_s`. Only an ACK with our sequence number
(encrypted and readable with our key when we encrypt) acknowledges; a NAK, a DUH or silence
raises DeliveryFailed and the outbox retries. A retry of the same alarm reuses its sequence
number, so a receiver that did get it (its ACK lost) sees a repeat, not a second alarm.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.errors import DeliveryFailed
from gateway.linkage.dc09.cipher import FrameError, PadSource, key_bytes, random_pad
from gateway.linkage.dc09.events import code_for_alarm, event_message, null_message
from gateway.linkage.dc09.frame import SEQ_MAX, Message, Token, build, parse
from gateway.linkage.dc09.transport import Link, open_link
from gateway.linkage.senders import OutgoingAlarm, Receipt
from gateway.settings import SiaDc09Endpoint

log = logging.getLogger("gateway.linkage.dc09")

LinkCallback = Callable[[bool, str], None]
Clock = Callable[[], datetime]
REMEMBERED_ALARMS = 1024  # alarm id -> sequence number, for retries
CLOCK_RESOLUTION_S = 2.0  # timestamps have whole seconds
# Unreadable or unrelated frames skipped in one attempt before it fails: a receiver answers
# each message once, so more than a few is a flood, not a late answer.
MAX_IGNORED = 64


def utc_now() -> datetime:
    return datetime.now(UTC)


class SiaDc09Sender:
    """`clock` gives the UTC time for timestamps (tests skew it); `first_seq` is the first
    sequence number (default: random, see below); `pad` makes the encryption pad."""

    def __init__(
        self,
        endpoint: SiaDc09Endpoint,
        *,
        clock: Clock = utc_now,
        first_seq: int | None = None,
        pad: PadSource = random_pad,
    ) -> None:
        self.endpoint = endpoint
        self.endpoint_id = endpoint.id
        self._key = key_bytes(endpoint.key) if endpoint.key else None
        # The standard's characters are 0-9 and A-F; the key is used exactly as written.
        self._account = endpoint.account.upper()
        self._receiver = endpoint.receiver.upper()
        self._line = endpoint.line.upper()
        self._where = f"{endpoint.host}:{endpoint.port}/{endpoint.transport}"
        self._clock = clock
        self._pad = pad
        # A random start: after a restart, our first numbers are unlikely to repeat the last
        # ones the receiver saw (which it could take for repeats of old messages).
        start = first_seq if first_seq is not None else secrets.randbelow(SEQ_MAX) + 1
        if not 1 <= start <= SEQ_MAX:
            raise ValueError(f"first_seq must be 1..{SEQ_MAX}")
        self._seq = start - 1
        self._seq_of_alarm: OrderedDict[str, int] = OrderedDict()
        self._lock = asyncio.Lock()
        self._link: Link | None = None
        self._last_attempt: float | None = None  # loop time of the last message sent
        self._on_link: LinkCallback | None = None
        self._link_up: bool | None = None
        self._link_detail = ""
        self._skew_logged = False
        self._closed = False

    @property
    def link_up(self) -> bool | None:
        """Whether the last message was acknowledged (None: nothing sent yet)."""
        return self._link_up

    async def send(self, alarm: OutgoingAlarm) -> Receipt:
        try:
            code = code_for_alarm(alarm.kind)
        except FrameError as exc:
            raise DeliveryFailed(exc.detail) from exc
        async with self._lock:
            seq = self._seq_for(alarm.alarm_id)
            answer = await self._exchange(
                lambda now: event_message(
                    account=self._account,
                    seq=seq,
                    code=code,
                    zone=alarm.zone,
                    now=now,
                    receiver=self._receiver,
                    line=self._line,
                    encrypted=self._key is not None,
                )
            )
        return Receipt(status=None, response=f"{answer.token} seq {answer.seq:04d}")

    async def supervise(self, on_link: LinkCallback) -> None:
        """Run until cancelled: send a `NULL` whenever nothing has been sent for
        `supervision_s` (any message restarts the interval, as DC-09 5.5.2 has it; the first
        NULL goes at once so the link's state is known from the start). `on_link(False,
        detail)` is called once when a message goes unanswered or is refused (NAK, DUH), and
        `on_link(True, detail)` once when an ACK comes again. Never raises but CancelledError."""
        self._on_link = on_link
        if self._link_up is not None:
            self._notify(self._link_up, self._link_detail)
        interval = self.endpoint.supervision_s
        loop = asyncio.get_running_loop()
        while True:
            if self._last_attempt is not None:
                wait = self._last_attempt + interval - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
            try:
                await self._supervision_null(interval)
            except DeliveryFailed:
                pass  # already reported through on_link
            except Exception as exc:  # the supervisor must outlive any bug below it
                log.exception("DC-09 %s: supervision failed", self.endpoint_id)
                self._report(False, f"supervision failed: {type(exc).__name__}: {exc}")
                await asyncio.sleep(interval)

    async def aclose(self) -> None:
        self._closed = True
        await self._drop_link()

    async def _supervision_null(self, interval: float) -> None:
        async with self._lock:
            last = self._last_attempt
            if last is not None and asyncio.get_running_loop().time() - last < interval:
                return  # an alarm went out while we waited for the lock
            seq = self._next_seq()
            await self._exchange(
                lambda now: null_message(
                    account=self._account,
                    seq=seq,
                    now=now,
                    receiver=self._receiver,
                    line=self._line,
                    encrypted=self._key is not None,
                )
            )

    def _next_seq(self) -> int:
        self._seq = self._seq % SEQ_MAX + 1  # 0001..9999, then 0001 again
        return self._seq

    def _seq_for(self, alarm_id: str) -> int:
        seq = self._seq_of_alarm.get(alarm_id)
        if seq is None:
            seq = self._seq_of_alarm[alarm_id] = self._next_seq()
            if len(self._seq_of_alarm) > REMEMBERED_ALARMS:
                self._seq_of_alarm.popitem(last=False)
        self._seq_of_alarm.move_to_end(alarm_id)
        return seq

    async def _exchange(self, compose: Callable[[datetime], Message]) -> Message:
        """Send one message and judge its answer; the caller holds the lock. The message is
        composed here, so its timestamp is the time of sending, not of queueing."""
        # Set first, even when closed: the supervisor waits a full interval after any attempt.
        self._last_attempt = asyncio.get_running_loop().time()
        if self._closed:
            raise DeliveryFailed("the DC-09 sender is closed")
        message = compose(self._clock())
        try:
            frame = build(message, self._key, pad=self._pad)
        except FrameError as exc:
            raise DeliveryFailed(f"cannot build the DC-09 message: {exc.detail}") from exc
        try:
            answer = await self._request(frame, message)
        except DeliveryFailed as exc:
            await self._drop_link()
            self._report(False, exc.detail)
            raise
        return self._judge(message, answer)

    async def _request(self, frame: bytes, message: Message) -> Message:
        timeout = self.endpoint.timeout_s
        phase = "connecting to"
        ignored: deque[str] = deque(maxlen=3)  # the last few, for the failure's detail
        try:
            async with asyncio.timeout(timeout):
                for retry in (False, True):
                    link, fresh = await self._ensure_link()
                    phase = "waiting for an answer from"
                    try:
                        await link.send(frame)
                        return await self._answer(link, message, ignored)
                    except ConnectionError:
                        await self._drop_link()
                        if fresh or retry:
                            raise
                        # A kept connection the receiver dropped (restart): once more, anew.
                        log.info("DC-09 %s: connection lost, reconnecting", self.endpoint_id)
                        phase = "connecting to"
        except TimeoutError:
            also = f"; ignored: {'; '.join(ignored)}" if ignored else ""
            raise DeliveryFailed(
                f"no answer within {timeout:g}s ({phase} {self._where}){also}"
            ) from None
        except OSError as exc:
            raise DeliveryFailed(f"{self._where}: {exc.strerror or exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ensure_link(self) -> tuple[Link, bool]:
        if self._link is not None and self._link.usable():
            return self._link, False
        await self._drop_link()
        self._link = await open_link(
            self.endpoint.transport, self.endpoint.host, self.endpoint.port
        )
        return self._link, True

    async def _drop_link(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            await link.close()

    async def _answer(self, link: Link, message: Message, ignored: deque[str]) -> Message:
        """The first answer to `message`; unreadable and unrelated frames are skipped, up to
        `MAX_IGNORED` (only the first unreadable one is logged)."""
        logged = False
        for _ in range(MAX_IGNORED):
            raw = await link.receive()
            try:
                answer = parse(raw, self._key)
            except FrameError as exc:
                if not logged:
                    log.info("DC-09 %s: unreadable answer ignored: %s", self.endpoint_id, exc)
                    logged = True
                ignored.append(str(exc))
                continue
            if answer.token == Token.NAK:
                return answer  # a NAK carries sequence 0000: it is about the one in flight
            if answer.seq != message.seq or (answer.account or "").upper() != self._account:
                ignored.append(f"{answer.token} seq {answer.seq:04d} account {answer.account}")
                continue
            return answer
        raise DeliveryFailed(
            f"{MAX_IGNORED} unreadable or unrelated answers from {self._where} to seq "
            f"{message.seq:04d}; the last ones: {'; '.join(ignored)}"
        )

    def _judge(self, message: Message, answer: Message) -> Message:
        if answer.token == Token.ACK:
            if message.encrypted and not answer.encrypted:
                detail = "the receiver answered an encrypted message with a plain ACK"
                self._report(False, detail)
                raise DeliveryFailed(detail)
            self._skew_logged = False
            self._report(True, f"ACK seq {answer.seq:04d} from {self._where}")
            return answer
        if answer.token == Token.NAK:
            detail = self._nak_detail(answer)
        elif answer.token == Token.DUH:
            detail = (
                f"DUH to {message.token} seq {message.seq:04d}: the receiver cannot process it "
                f"(is account {self._account} known there?)"
            )
        else:
            detail = f"unexpected answer {answer.token!r} to seq {message.seq:04d}"
        self._report(False, detail)
        raise DeliveryFailed(detail)

    def _nak_detail(self, answer: Message) -> str:
        if answer.timestamp is None:
            return "NAK from the receiver (without its time)"
        skew = (self._clock() - answer.timestamp).total_seconds()
        theirs = answer.timestamp.strftime("%Y-%m-%d %H:%M:%S")
        if abs(skew) < CLOCK_RESOLUTION_S:
            return (
                f"NAK from the receiver (its clock {theirs} UTC agrees with ours): "
                "wrong key, account or message?"
            )
        ahead = "ahead of" if skew > 0 else "behind"
        detail = (
            f"NAK from the receiver: our clock is {abs(skew):.0f} s {ahead} its clock "
            f"({theirs} UTC); check NTP"
        )
        if not self._skew_logged:  # once per episode, not at every retry
            log.warning("DC-09 %s: %s", self.endpoint_id, detail)
            self._skew_logged = True
        return detail

    def _report(self, up: bool, detail: str) -> None:
        changed = self._link_up != up
        self._link_up, self._link_detail = up, detail
        if changed and self._on_link is not None:
            self._notify(up, detail)

    def _notify(self, up: bool, detail: str) -> None:
        assert self._on_link is not None
        try:
            self._on_link(up, detail)
        except Exception:  # a broken callback must not break deliveries
            log.exception("DC-09 %s: link callback failed", self.endpoint_id)
