"""DC-09 framing: CRC, length, header, data, timestamps, ACK/NAK/DUH, malformed frames."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.errors import GatewayError
from gateway.linkage.dc09 import (
    FrameError,
    Message,
    Token,
    ack,
    build,
    crc16,
    duh,
    format_timestamp,
    nak,
    parse,
    parse_timestamp,
    unframe,
)
from tests.unit.linkage.dc09 import vectors as v

WHEN = datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "data, expected",
    [
        v.CRC_CHECK,
        (b"", 0x0000),
        # The CRC fields of the published frames, over their part from '"' to before <CR>.
        (v.STANDARD_SIA_DCS[9:-1], 0xCE11),
        (v.STANDARD_ADM_CID[9:-1], 0x87CD),
        (v.STANDARD_MAC_BLOCK[9:-1], 0x8C86),
        (v.FIOLETOVEN_EVENT[9:-1], 0xF4D2),
        (v.FIOLETOVEN_NAK[9:-1], 0xE441),
        (v.NODE_RED_RP[9:-1], 0xF2EA),
        (v.HA_BA[9:-1], 0x01CD),
        (v.IOBROKER_CQ[9:-1], 0x78FC),
        (v.IOBROKER_ENCRYPTED[9:-1], 0xAEAE),
    ],
)
def test_crc16_arc_vectors(data: bytes, expected: int) -> None:
    assert crc16(data) == expected


@pytest.mark.parametrize(
    "raw, token, seq, receiver, line, account, data, timestamp",
    [
        (
            v.STANDARD_SIA_DCS,
            "SIA-DCS",
            9876,
            "R579BDF",
            "L789ABC",
            "12345A",
            "#12345A|NFA129",
            None,
        ),
        (
            v.STANDARD_ADM_CID,
            "ADM-CID",
            9876,
            "R579BDF",
            "L789ABC",
            "12345A",
            "#12345A|1110 00 129",
            None,
        ),
        (v.FIOLETOVEN_EVENT, "SIA-DCS", 1, "RF3", "L77", "1234", "#1234|NRR|Atest", None),
        (v.FIOLETOVEN_EMPTY, "SIA-DCS", 1, None, "L0", "1234", "", None),
        (v.FIOLETOVEN_NAK, "NAK", 0, "R0", "L0", None, "", datetime(2025, 9, 24, 16, 20, 1)),
        (
            v.NODE_RED_RP,
            "SIA-DCS",
            1667,
            None,
            "L0",
            "0000",
            "#0000|Nri0/RP0000",
            datetime(2021, 12, 22, 12, 44, 6),
        ),
        (
            v.HA_BA,
            "SIA-DCS",
            1783,
            None,
            "L0",
            "000110",
            "#000110|Nri1BA503^Volum.Taverna   Appartam.Giorno ^",
            datetime(2022, 1, 20, 11, 49, 27),
        ),
        (
            v.IOBROKER_CQ,
            "SIA-DCS",
            1,
            None,
            "L",
            "22334455",
            "#22334455|NCQ1",
            datetime(2020, 2, 9, 14, 33, 53),
        ),
    ],
)
def test_published_frames_parse_and_build_back_to_the_same_bytes(
    raw: bytes,
    token: str,
    seq: int,
    receiver: str | None,
    line: str,
    account: str | None,
    data: str,
    timestamp: datetime | None,
) -> None:
    message = parse(raw)
    expected_time = timestamp.replace(tzinfo=UTC) if timestamp is not None else None
    assert message == Message(
        token, seq, account, receiver, line, data, timestamp=expected_time, encrypted=False
    )
    assert build(message) == raw


def test_the_standards_example_with_an_extended_block_parses_and_builds_back() -> None:
    message = parse(v.STANDARD_MAC_BLOCK)
    assert (message.token, message.seq, message.receiver, message.line, message.account) == (
        "SIA-DCS",
        9876,
        "R579BDF",
        "L789ABC",
        "123456A",
    )
    assert (message.data, message.extended) == ("#123456A|NFA129", ("M1234567890AB",))
    assert build(message) == v.STANDARD_MAC_BLOCK


def test_building_the_standards_example_gives_its_exact_bytes() -> None:
    message = Message("SIA-DCS", 9876, "12345A", "R579BDF", "L789ABC", "#12345A|NFA129")
    assert build(message) == v.STANDARD_SIA_DCS


def test_building_the_fioletoven_example_gives_its_exact_bytes() -> None:
    message = Message("SIA-DCS", 1, "1234", "RF3", "L77", "#1234|NRR|Atest")
    assert build(message) == v.FIOLETOVEN_EVENT


def test_length_field_counts_from_the_quote_to_before_cr_in_four_hex_digits() -> None:
    raw = build(Message("SIA-DCS", 42, "1A2B", "R0", "L0", "#1A2B|Nri1/PA001", timestamp=WHEN))
    body = raw[9:-1]
    assert raw[5:9] == f"{len(body):04X}".encode()
    assert raw[1:5] == f"{crc16(body):04X}".encode()
    assert raw == (
        b"\n"
        + f"{crc16(body):04X}{len(body):04X}".encode()
        + b'"SIA-DCS"0042R0L0#1A2B[#1A2B|Nri1/PA001]_00:00:05,05-01-2024\r'
    )


def test_a_frame_too_long_for_0lll_is_refused() -> None:
    with pytest.raises(FrameError, match="length"):
        build(Message("SIA-DCS", 1, "1A2B", data="x" * 0x1000))


@pytest.mark.parametrize(
    "when, text",
    [
        (datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC), "_00:00:05,05-01-2024"),
        (datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), "_23:59:59,12-31-2024"),
        # Local time is converted: 08:00 in Shanghai on 1 May is 00:00 UTC.
        (datetime(2024, 5, 1, 8, 0, 0, tzinfo=ZoneInfo("Asia/Shanghai")), "_00:00:00,05-01-2024"),
        (datetime(2024, 5, 1, 0, 0, 5), "_00:00:05,05-01-2024"),  # naive: taken as UTC
    ],
)
def test_timestamp_is_utc_hh_mm_ss_mm_dd_yyyy(when: datetime, text: str) -> None:
    assert format_timestamp(when) == text
    expected = when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    assert parse_timestamp(text) == expected


@pytest.mark.parametrize(
    "text", ["_24:00:00,05-01-2024", "_00:00:00,13-01-2024", "00:00:00,05-01-2024", "_0:0:0,5-1-24"]
)
def test_bad_timestamps_are_refused(text: str) -> None:
    with pytest.raises(FrameError, match="timestamp"):
        parse_timestamp(text)


def test_ack_echoes_sequence_receiver_line_and_account() -> None:
    request = parse(v.NODE_RED_RP)
    answer = ack(request, WHEN)
    assert answer == Message("ACK", 1667, "0000", None, "L0", timestamp=WHEN)
    assert build(answer) == build(Message("ACK", 1667, "0000", None, "L0", timestamp=WHEN))
    assert b'"ACK"1667L0#0000[]_00:00:05,05-01-2024\r' in build(answer)


def test_nak_has_the_fixed_header_and_the_receiver_time() -> None:
    raw = build(nak(datetime(2025, 9, 24, 16, 20, 1, tzinfo=UTC)))
    assert raw == v.FIOLETOVEN_NAK  # fioletoven/dc09 parse_nak_test: same bytes
    assert parse(raw).timestamp == datetime(2025, 9, 24, 16, 20, 1, tzinfo=UTC)


def test_duh_echoes_the_request_and_is_never_encrypted() -> None:
    frame = unframe(v.IOBROKER_ENCRYPTED)
    answer = duh(frame)
    assert (answer.token, answer.seq, answer.account, answer.encrypted) == (
        Token.DUH,
        18,
        "12345",
        False,
    )
    raw = build(answer)
    assert raw.endswith(b'"DUH"0018L0#12345[]\r')
    assert parse(raw) == answer


def _flip(raw: bytes, index: int, byte: bytes) -> bytes:
    return raw[:index] + byte + raw[index + 1 :]


@pytest.mark.parametrize(
    "raw, reason",
    [
        (_flip(v.NODE_RED_RP, 4, b"B"), "crc"),  # CRC F2EA -> F2EB
        (_flip(v.NODE_RED_RP, 30, b"1"), "crc"),  # a changed character
        (_flip(v.NODE_RED_RP, 8, b"C"), "length"),  # 003B -> 003C
        (v.NODE_RED_RP[:-1], "framing"),  # truncated: no <CR>
        (v.NODE_RED_RP[:40] + b"\r", "length"),  # truncated mid-message
        (v.NODE_RED_RP[1:], "framing"),  # no <LF>
        (b"\n\r", "framing"),
        (b"this is not a DC-09 frame", "framing"),
        (_flip(v.NODE_RED_RP, 40, b"\xe9"), "encoding"),  # not ASCII
        (_flip(v.NODE_RED_RP, 40, b"\x07"), "encoding"),  # a control character
        (b"\nZZZZ003B" + v.NODE_RED_RP[9:], "framing"),  # CRC not hex
        (b"\nF2EA0G3B" + v.NODE_RED_RP[9:], "framing"),  # length not hex
    ],
)
def test_malformed_frames_raise_a_clear_error(raw: bytes, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse(raw)
    assert caught.value.reason == reason
    assert str(caught.value).startswith(f"DC-09 {reason}: ")
    assert isinstance(caught.value, GatewayError)
    assert isinstance(caught.value, ValueError)


def _framed(body: str) -> bytes:
    data = body.encode()
    return b"\n" + f"{crc16(data):04X}{len(data):04X}".encode() + data + b"\r"


@pytest.mark.parametrize(
    "body, reason",
    [
        ('"SIA-DCS"001L0#1234[]', "header"),  # 3-digit sequence number
        ('"SIA-DCS"0001L0#12[]', "header"),  # 2-digit account
        ('"SIA-DCS"0001L0#12G4[]', "header"),  # not hex
        ('"SIA-DCS"0001L01234[]', "header"),  # no '#'
        ("SIA-DCS0001L0#1234[]", "header"),  # no quotes
        ('"SIA-DCS"0001L0#1234[#1234|Nri1/PA001', "data"),  # no ']'
        ('"SIA-DCS"0001L0#1234[#1234][unclosed', "data"),
        ('"SIA-DCS"0001L0#1234[]_12:00:00', "timestamp"),
        ('"SIA-DCS"0001L0#1234[]junk', "timestamp"),
        ('"*SIA-DCS"0001L0#1234[00112233', "key"),  # encrypted, and no key given
    ],
)
def test_well_framed_but_unreadable_messages_raise(body: str, reason: str) -> None:
    with pytest.raises(FrameError) as caught:
        parse(_framed(body))
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "message, match",
    [
        (Message("SIA-DCS", 10000, "1234"), "sequence"),
        (Message("SIA-DCS", -1, "1234"), "sequence"),
        (Message("SIA-DCS", 1, "12"), "account"),
        (Message("SIA-DCS", 1, "1234", receiver="0"), "receiver"),
        (Message("SIA-DCS", 1, "1234", line="X0"), "line"),
        (Message("SIA DCS", 1, "1234"), "token"),
        (Message("SIA-DCS", 1, "1234", data="a]b"), "printable"),
        (Message("SIA-DCS", 1, "1234", data="中文"), "printable"),
        (Message("SIA-DCS", 1, "1234", extended=("x[y",)), "printable"),
        (Message("SIA-DCS", 1, "1234", encrypted=True), "key"),  # encrypted without a key
    ],
)
def test_building_an_invalid_message_raises(message: Message, match: str) -> None:
    with pytest.raises(FrameError, match=match):
        build(message)


def test_a_key_for_a_plain_message_is_refused() -> None:
    with pytest.raises(FrameError, match="key"):
        build(Message("SIA-DCS", 1, "1234"), b"0123456789ABCDEF")


# Round trips ---------------------------------------------------------------------------

HEX = "0123456789ABCDEF"
TEXT = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="[]"), max_size=40
)
TIMES = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))


@st.composite
def messages(draw: st.DrawFn, *, encrypted: bool = False) -> Message:
    return Message(
        token=draw(st.sampled_from(list(Token))),
        seq=draw(st.integers(0, 9999)),
        account=draw(st.text(HEX, min_size=3, max_size=16)),
        receiver=draw(st.none() | st.text(HEX, min_size=1, max_size=6).map("R".__add__)),
        line=draw(st.none() | st.text(HEX, min_size=0, max_size=6).map("L".__add__)),
        data=draw(TEXT),
        extended=tuple(draw(st.lists(TEXT, max_size=3))),
        timestamp=draw(TIMES) if encrypted else draw(st.none() | TIMES),
        encrypted=encrypted,
    )


@given(messages())
def test_plain_messages_round_trip(message: Message) -> None:
    assert parse(build(message)) == message


@given(messages(encrypted=True), st.sampled_from([16, 24, 32]), st.data())
def test_encrypted_messages_round_trip(message: Message, size: int, data: st.DataObject) -> None:
    key = data.draw(st.text(HEX + "abcdef", min_size=size, max_size=size)).encode()
    raw = build(message, key)
    assert parse(raw, key) == message
    assert b'"*' + message.token.encode() + b'"' in raw
