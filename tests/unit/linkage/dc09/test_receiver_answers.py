"""The simulated DC-09 receiving centre's answers, frame in, frame out (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.errors import ConfigError
from gateway.linkage.dc09 import Message, Token, build, event_message, null_message, parse
from simulators.dc09_receiver import Dc09Receiver, Dc09ReceiverOptions
from tests.unit.linkage.dc09 import vectors as v

NOW = datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC)
KEY = "0123456789ABCDEF"


def receiver(clock: datetime = NOW, **options: object) -> Dc09Receiver:
    return Dc09Receiver(Dc09ReceiverOptions(port=0, **options), clock=lambda: clock)  # type: ignore[arg-type]


def alarm(seq: int = 42, *, when: datetime = NOW, key: str | None = None, zone: int = 3) -> bytes:
    message = event_message(
        account="1A2B", seq=seq, code="PA", zone=zone, now=when, encrypted=key is not None
    )
    return build(message, key.encode() if key else None)


def answer(raw: bytes | None, key: str | None = None) -> Message:
    assert raw is not None, "expected an answer"
    return parse(raw, key.encode() if key else None)


def test_a_good_event_is_acknowledged_and_recorded() -> None:
    centre = receiver()
    reply = answer(centre.handle(alarm(), "tcp"))
    assert (reply.token, reply.seq, reply.account, reply.encrypted) == ("ACK", 42, "1A2B", False)
    assert reply.receiver == "R0" and reply.line == "L0"
    [event] = centre.events
    assert (event.account, event.seq, event.code, event.zone, event.encrypted) == (
        "1A2B",
        42,
        "PA",
        3,
        False,
    )
    assert event.timestamp == NOW and not event.duplicate and event.transport == "tcp"


def test_an_encrypted_event_gets_an_encrypted_ack_with_a_timestamp() -> None:
    centre = receiver(key=KEY)
    raw = centre.handle(alarm(key=KEY))
    assert raw is not None and b'"*ACK"0042R0L0#1A2B[' in raw
    reply = answer(raw, KEY)
    assert reply.encrypted and reply.timestamp == NOW
    assert centre.events[0].encrypted


def test_a_null_is_acknowledged_and_counted_not_recorded() -> None:
    centre = receiver()
    reply = answer(centre.handle(build(null_message(account="1A2B", seq=5, now=NOW))))
    assert (reply.token, reply.seq) == ("ACK", 5)
    assert centre.nulls == 1 and centre.events == []


@pytest.mark.parametrize(
    "raw",
    [
        alarm()[:-1],  # truncated
        alarm().replace(b"PA003", b"PA004"),  # CRC no longer matches
        b"GET / HTTP/1.1\r",
        b"\n\r",
    ],
)
def test_garbage_gets_no_answer(raw: bytes) -> None:
    centre = receiver()
    assert centre.handle(raw) is None
    assert centre.counts["garbage"] == 1 and centre.events == []


def test_noise_before_the_lf_and_nul_after_the_cr_are_ignored() -> None:
    centre = receiver()
    assert answer(centre.handle(b"\x00junk" + alarm() + b"\x00")).token == "ACK"


@pytest.mark.parametrize(
    "sent_at, token",
    [
        (NOW, "ACK"),
        (NOW - timedelta(seconds=39), "ACK"),
        (NOW + timedelta(seconds=19), "ACK"),
        (NOW - timedelta(seconds=41), "NAK"),  # older than the window
        (NOW + timedelta(seconds=21), "NAK"),  # from the future
        (NOW - timedelta(hours=8), "NAK"),  # local time sent as UTC
    ],
)
def test_the_timestamp_window_is_40_s_behind_20_s_ahead(sent_at: datetime, token: str) -> None:
    centre = receiver()
    reply = answer(centre.handle(alarm(when=sent_at)))
    assert reply.token == token
    if token == "NAK":
        assert (reply.seq, reply.account, reply.receiver, reply.line) == (0, None, "R0", "L0")
        assert reply.timestamp == NOW  # the receiver's time, so the sender can see its skew
        assert not reply.encrypted and centre.events == []


@pytest.mark.parametrize(
    "receiver_key, sender_key",
    [(KEY, None), (None, KEY), (KEY, "0123456789ABCDEE"), (KEY, KEY.lower())],
    ids=["plain to keyed", "encrypted to keyless", "wrong key", "key case matters"],
)
def test_encryption_mismatches_are_nakked(receiver_key: str | None, sender_key: str | None) -> None:
    centre = receiver(key=receiver_key)
    assert answer(centre.handle(alarm(key=sender_key))).token == "NAK"
    assert centre.events == [] and centre.counts["nak"] == 1


def test_an_unknown_account_gets_duh() -> None:
    centre = receiver(accounts=frozenset({"9999"}))
    reply = answer(centre.handle(alarm()))
    assert (reply.token, reply.seq, reply.account) == ("DUH", 42, "1A2B")


def test_accounts_are_compared_without_case() -> None:
    centre = receiver(accounts=frozenset({"1a2b"}))
    assert answer(centre.handle(alarm())).token == "ACK"


def test_unhandled_tokens_and_unreadable_events_get_duh() -> None:
    centre = receiver()
    adm = build(Message("ADM-CID", 9, "1A2B", "R0", "L0", "#1A2B|1110 00 129", timestamp=NOW))
    assert answer(centre.handle(adm)).token == Token.DUH
    odd = build(Message("SIA-DCS", 10, "1A2B", "R0", "L0", "#1A2B|hello", timestamp=NOW))
    assert answer(centre.handle(odd)).token == Token.DUH


def test_nak_first_refuses_the_first_events_only() -> None:
    centre = receiver(nak_first=2)
    null = build(null_message(account="1A2B", seq=1, now=NOW))
    assert answer(centre.handle(null)).token == "ACK"  # NULLs are not counted
    tokens = [answer(centre.handle(alarm(seq=seq))).token for seq in (2, 2, 2)]
    assert tokens == ["NAK", "NAK", "ACK"]
    assert [e.seq for e in centre.events] == [2]


def test_a_silent_receiver_reads_and_never_answers() -> None:
    centre = receiver(silent=True)
    assert centre.handle(alarm()) is None
    centre.set_silent(False)
    assert answer(centre.handle(alarm())).token == "ACK"
    assert centre.counts["unanswered"] == 1


def test_repeats_are_acknowledged_again_and_flagged() -> None:
    centre = receiver()
    for _ in range(2):
        assert answer(centre.handle(alarm(seq=7))).token == "ACK"
    assert answer(centre.handle(alarm(seq=8))).token == "ACK"
    assert [e.duplicate for e in centre.events] == [False, True, False]


def test_a_real_panels_encrypted_message_is_acknowledged(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sent = datetime(2018, 10, 26, 7, 50, 26, tzinfo=UTC)
    centre = receiver(clock=sent + timedelta(seconds=2), key=v.IOBROKER_ENCRYPTED_KEY)
    reply = answer(centre.handle(v.IOBROKER_ENCRYPTED, "udp"), v.IOBROKER_ENCRYPTED_KEY)
    assert (reply.token, reply.seq, reply.account, reply.encrypted) == ("ACK", 18, "12345", True)
    assert "110 DC-09 接警 UT" in capsys.readouterr().out


def test_the_accepted_event_is_printed_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    receiver(key=KEY).handle(alarm(key=KEY, zone=1), "udp")
    out = capsys.readouterr().out
    assert out == "110 DC-09 接警 PA 紧急报警 zone 1 account 1A2B seq 0042 udp 加密\n"


def test_a_bad_key_in_the_options_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="16, 24 or 32"):
        receiver(key="short")
