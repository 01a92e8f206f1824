"""The SIA DC-09 sender against the simulated receiving centre over real TCP and UDP sockets:
alarms arrive as PA/RX with zone and account, NAKs and silence fail the attempt, the
supervision NULLs track the link, and the sender survives a receiver restart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.errors import DeliveryFailed
from gateway.linkage.dc09 import SiaDc09Sender, ack, build, parse, unframe
from gateway.linkage.senders import OutgoingAlarm
from gateway.settings import SiaDc09Endpoint
from simulators.dc09_receiver import Dc09Receiver, Dc09ReceiverOptions
from tests.support.dc09 import serving
from tests.support.police import eventually

KEY_128 = "0123456789ABCDEF"
KEY_256 = "0123456789ABCDEF0123456789abcdef"
TRANSPORTS = ["tcp", "udp"]
SLACK_S = 2.5  # scheduling allowance on a loaded two-core machine


def emergency(alarm_id: str = "alm-1", zone: int = 3) -> OutgoingAlarm:
    return OutgoingAlarm(alarm_id, "emergency", b"{}", zone=zone, occurred_at=datetime.now(UTC))


def monthly_test(alarm_id: str = "alm-t", zone: int = 7) -> OutgoingAlarm:
    return OutgoingAlarm(alarm_id, "test", b"{}", zone=zone, occurred_at=datetime.now(UTC))


def endpoint(port: int, transport: str = "tcp", **changes: Any) -> SiaDc09Endpoint:
    fields: dict[str, Any] = {
        "id": "city-110-dc09",
        "kind": "sia-dc09",
        "host": "127.0.0.1",
        "port": port,
        "transport": transport,
        "account": "1a2b",  # lower case on purpose: sent as 1A2B
        "timeout_s": 3.0,
        "supervision_s": 60.0,
    }
    return SiaDc09Endpoint(**{**fields, **changes})


def receiver(**options: Any) -> Dc09Receiver:
    return Dc09Receiver(Dc09ReceiverOptions(port=0, **options))


@asynccontextmanager
async def sender(settings: SiaDc09Endpoint, **options: Any) -> AsyncIterator[SiaDc09Sender]:
    dc09 = SiaDc09Sender(settings, **options)
    try:
        yield dc09
    finally:
        await dc09.aclose()


@asynccontextmanager
async def supervising(
    dc09: SiaDc09Sender,
) -> AsyncIterator[list[tuple[bool, str]]]:
    calls: list[tuple[bool, str]] = []
    task = asyncio.create_task(
        dc09.supervise(lambda up, detail: calls.append((up, detail))), name="test-supervise"
    )
    try:
        yield calls
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert task.cancelled(), "supervise() ended by itself"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def timed(call: Awaitable[Any]) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        await call
    except BaseException as exc:  # the test judges it
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("key", [None, KEY_128, KEY_256], ids=["plain", "aes128", "aes256"])
async def test_an_emergency_and_a_test_arrive_as_pa_and_rx(transport: str, key: str | None) -> None:
    async with (
        serving(receiver(key=key, accounts=frozenset({"1A2B"}))) as centre,
        sender(endpoint(centre.port, transport, key=key)) as dc09,
    ):
        first = await dc09.send(emergency(zone=3))
        second = await dc09.send(monthly_test(zone=7))
    assert [(e.code, e.zone, e.account) for e in centre.events] == [
        ("PA", 3, "1A2B"),
        ("RX", 7, "1A2B"),
    ]
    assert all(e.encrypted == (key is not None) and e.transport == transport for e in centre.events)
    assert first.status is None and second.status is None
    assert first.response == f"ACK seq {centre.events[0].seq:04d}"
    assert second.response == f"ACK seq {centre.events[1].seq:04d}"
    assert centre.events[1].seq == centre.events[0].seq % 9999 + 1
    assert not any(e.duplicate for e in centre.events)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_nak_fails_the_attempt_and_the_retry_succeeds_with_the_same_seq(
    transport: str,
) -> None:
    async with (
        serving(receiver(nak_first=1)) as centre,
        sender(endpoint(centre.port, transport), first_seq=100) as dc09,
    ):
        with pytest.raises(DeliveryFailed, match="NAK"):
            await dc09.send(emergency("alm-1"))
        assert centre.events == []
        receipt = await dc09.send(emergency("alm-1"))  # the outbox's retry
        other = await dc09.send(emergency("alm-2", zone=4))
    assert receipt.response == "ACK seq 0100"  # the retry reuses the alarm's number
    assert other.response == "ACK seq 0101"
    assert [(e.seq, e.zone, e.duplicate) for e in centre.events] == [
        (100, 3, False),
        (101, 4, False),
    ]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_silent_receiver_fails_within_the_timeout(transport: str) -> None:
    async with (
        serving(receiver(silent=True)) as centre,
        sender(endpoint(centre.port, transport, timeout_s=0.5)) as dc09,
    ):
        error, elapsed = await timed(dc09.send(emergency()))
        await eventually(lambda: centre.counts["unanswered"] >= 1, what="the receiver to read it")
    assert isinstance(error, DeliveryFailed)
    assert "no answer within 0.5s" in error.detail
    assert 0.45 <= elapsed < 0.5 + SLACK_S
    assert centre.events == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_nothing_listening_fails_promptly(transport: str) -> None:
    async with sender(endpoint(free_port(), transport, timeout_s=1.0)) as dc09:
        error, elapsed = await timed(dc09.send(emergency()))
    assert isinstance(error, DeliveryFailed)
    assert elapsed < 1.0 + SLACK_S


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    "receiver_key, sender_key",
    [(KEY_128, "0123456789ABCDEE"), (KEY_128, None), (None, KEY_128)],
    ids=["wrong key", "plain to keyed", "encrypted to keyless"],
)
async def test_a_key_mismatch_is_never_acknowledged(
    transport: str, receiver_key: str | None, sender_key: str | None
) -> None:
    async with (
        serving(receiver(key=receiver_key)) as centre,
        sender(endpoint(centre.port, transport, key=sender_key, timeout_s=1.0)) as dc09,
    ):
        with pytest.raises(DeliveryFailed, match="NAK"):
            await dc09.send(emergency())
    assert centre.events == []


async def test_an_unknown_account_gets_duh_and_fails() -> None:
    async with (
        serving(receiver(accounts=frozenset({"9999"}))) as centre,
        sender(endpoint(centre.port)) as dc09,
    ):
        with pytest.raises(DeliveryFailed, match=r"DUH.*1A2B"):
            await dc09.send(emergency())


async def test_a_nak_for_a_wrong_clock_says_by_how_much_and_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def fast_clock() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=120)

    caplog.set_level(logging.WARNING, logger="gateway.linkage.dc09")
    async with (
        serving(receiver()) as centre,
        sender(endpoint(centre.port), clock=fast_clock) as dc09,
    ):
        for _ in range(3):
            with pytest.raises(DeliveryFailed, match=r"our clock is 1[12]\d s ahead of its clock"):
                await dc09.send(emergency())
    skew_logs = [r for r in caplog.records if "ahead of its clock" in r.getMessage()]
    assert len(skew_logs) == 1


async def test_sequence_numbers_wrap_from_9999_to_0001() -> None:
    async with serving(receiver()) as centre, sender(endpoint(centre.port), first_seq=9998) as dc09:
        receipts = [await dc09.send(emergency(f"alm-{n}")) for n in range(3)]
    assert [r.response for r in receipts] == ["ACK seq 9998", "ACK seq 9999", "ACK seq 0001"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_concurrent_alarms_go_one_at_a_time_and_all_arrive(transport: str) -> None:
    async with (
        serving(receiver(key=KEY_128)) as centre,
        sender(endpoint(centre.port, transport, key=KEY_128)) as dc09,
    ):
        receipts = await asyncio.gather(
            *(dc09.send(emergency(f"alm-{zone}", zone=zone)) for zone in range(1, 21))
        )
    assert len({r.response for r in receipts}) == 20
    assert sorted(e.zone for e in centre.events) == list(range(1, 21))


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("key", [None, KEY_128], ids=["plain", "aes128"])
async def test_supervision_nulls_track_a_receiver_going_silent_and_back(
    transport: str, key: str | None
) -> None:
    interval, timeout = 0.2, 0.5
    async with serving(receiver(key=key)) as centre:
        settings = endpoint(
            centre.port, transport, key=key, supervision_s=interval, timeout_s=timeout
        )
        async with sender(settings) as dc09, supervising(dc09) as calls:
            await eventually(lambda: [up for up, _ in calls] == [True], 10, "the link to come up")
            before = centre.nulls
            await asyncio.sleep(1.0)
            sent = centre.nulls - before
            assert 2 <= sent <= 1.0 / interval + 3, f"{sent} NULLs in 1 s at {interval} s"

            centre.set_silent(True)
            silent_at = time.monotonic()
            await eventually(lambda: calls[-1][0] is False, 10, "the link to go down")
            assert time.monotonic() - silent_at < interval + timeout + SLACK_S
            assert "no answer within" in calls[-1][1]

            centre.set_silent(False)
            await eventually(lambda: calls[-1][0] is True, 10, "the link to come back")
            await asyncio.sleep(3 * interval)
    assert [up for up, _ in calls] == [True, False, True]  # once per change, not per NULL
    assert centre.events == []


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_sender_survives_a_receiver_restart(transport: str) -> None:
    centre = receiver()
    async with serving(centre):
        port = centre.port
        settings = endpoint(port, transport, supervision_s=0.2, timeout_s=0.5)
        dc09 = SiaDc09Sender(settings)
        await dc09.send(emergency("alm-before"))
    try:
        async with supervising(dc09) as calls:
            await eventually(lambda: calls and calls[-1][0] is False, 10, "the link to go down")
            async with serving(centre, port):
                await eventually(lambda: calls[-1][0] is True, 10, "the link to come back")
                await dc09.send(emergency("alm-after", zone=5))  # first attempt succeeds
    finally:
        await dc09.aclose()
    assert [(e.zone, e.duplicate) for e in centre.events] == [(3, False), (5, False)]


async def test_a_kept_tcp_connection_is_replaced_after_the_receiver_restarts() -> None:
    centre = receiver()
    async with serving(centre):
        port = centre.port
        dc09 = SiaDc09Sender(endpoint(port))
        await dc09.send(emergency("alm-1"))
    try:
        async with serving(centre, port):
            receipt = await dc09.send(emergency("alm-2", zone=4))  # no failed attempt first
    finally:
        await dc09.aclose()
    assert receipt.response.startswith("ACK seq ")
    assert [e.zone for e in centre.events] == [3, 4]


async def test_nulls_wait_while_alarms_keep_the_link_busy() -> None:
    async with serving(receiver()) as centre:
        settings = endpoint(centre.port, supervision_s=1.0)
        async with sender(settings) as dc09, supervising(dc09):
            await eventually(lambda: centre.nulls == 1, 10, "the first NULL")
            for n in range(15):
                await dc09.send(emergency(f"alm-{n}"))
                await asyncio.sleep(0.1)
    assert len(centre.events) == 15
    assert centre.nulls <= 2  # the alarms restart the supervision interval


async def test_supervising_a_closed_sender_neither_spins_nor_ends() -> None:
    dc09 = SiaDc09Sender(endpoint(free_port(), supervision_s=0.05))
    await dc09.aclose()
    async with supervising(dc09) as calls:
        await asyncio.sleep(0.3)  # returns only if supervise() yields to the loop
    assert calls == []  # nothing was sent, so nothing is known about the link


# A hand-written peer for answers the simulator never gives. --------------------------


@asynccontextmanager
async def peer(answer: Callable[[bytes], bytes]) -> AsyncIterator[int]:
    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while True:
                writer.write(answer(await reader.readuntil(b"\r")))
                await writer.drain()
        writer.close()

    server = await asyncio.start_server(talk, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


async def test_garbage_and_answers_to_other_messages_are_skipped() -> None:
    def chatty(raw: bytes) -> bytes:
        message = parse(raw)
        now = datetime.now(UTC)
        other = replace(ack(message, now), seq=message.seq % 9999 + 1)
        stranger = replace(ack(message, now), account="FFFF")
        return (
            b"\nnot a frame\r"
            + build(ack(message, now))[:-3]
            + b"\r"  # a broken one
            + build(other)
            + build(stranger)
            + build(ack(message, now))
        )

    async with peer(chatty) as port, sender(endpoint(port), first_seq=7) as dc09:
        receipt = await dc09.send(emergency())
    assert receipt.response == "ACK seq 0007"


async def test_a_plain_ack_to_an_encrypted_message_is_not_an_acknowledgement() -> None:
    def careless(raw: bytes) -> bytes:
        frame = unframe(raw)
        return build(replace(ack(frame, datetime.now(UTC)), encrypted=False))

    async with peer(careless) as port, sender(endpoint(port, key=KEY_128)) as dc09:
        with pytest.raises(DeliveryFailed, match="plain ACK"):
            await dc09.send(emergency())


async def test_a_receiver_that_never_ends_its_line_does_not_hang_the_sender() -> None:
    async with (
        peer(lambda raw: b"\n" + b"A" * 100) as port,
        sender(endpoint(port, timeout_s=0.5)) as dc09,
    ):
        error, elapsed = await timed(dc09.send(emergency()))
    assert isinstance(error, DeliveryFailed)
    assert elapsed < 0.5 + SLACK_S
