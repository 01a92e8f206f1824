"""Spec 4.2's event codes and the SIA data block of a DC-09 "SIA-DCS" message."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.domain import AlarmKind
from gateway.linkage.dc09 import (
    CODE_OF_ALARM,
    CODE_OF_EVENT,
    FrameError,
    SiaCode,
    SiaEvent,
    build,
    code_for_alarm,
    event_data,
    event_message,
    null_message,
    parse,
    parse_event_data,
)

WHEN = datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "event, code",
    [("press", "PA"), ("restore", "PR"), ("test", "RX"), ("tamper", "TA")],
)
def test_spec_event_codes(event: str, code: str) -> None:
    assert CODE_OF_EVENT[event] == code


@pytest.mark.parametrize(
    "kind, code",
    [(AlarmKind.EMERGENCY, SiaCode.PANIC_ALARM), (AlarmKind.TEST, SiaCode.MANUAL_TEST)],
)
def test_every_alarm_kind_has_a_code(kind: AlarmKind, code: SiaCode) -> None:
    assert code_for_alarm(kind) == code
    assert set(CODE_OF_ALARM) == {k.value for k in AlarmKind}


def test_an_unknown_alarm_kind_is_an_error() -> None:
    with pytest.raises(FrameError, match="no SIA code"):
        code_for_alarm("fire")


@pytest.mark.parametrize(
    "account, code, zone, data",
    [
        ("1A2B", "PA", 3, "#1A2B|Nri3/PA003"),
        ("1A2B", "RX", 12, "#1A2B|Nri12/RX012"),
        ("000110", "PA", 1234, "#000110|Nri1234/PA1234"),
        ("ABC", "TA", 0, "#ABC|Nri0/TA000"),
    ],
)
def test_event_data_puts_the_zone_in_ri_and_after_the_code(
    account: str, code: str, zone: int, data: str
) -> None:
    assert event_data(account, code, zone) == data
    assert parse_event_data(data) == SiaEvent(code, zone, zone, account)


@pytest.mark.parametrize(("zone", "code"), [(-1, "PA"), (10000, "PA"), (1, "pa"), (1, "PAX")])
def test_event_data_refuses_bad_zones_and_codes(zone: int, code: str) -> None:
    with pytest.raises(FrameError):
        event_data("1A2B", code, zone)


@pytest.mark.parametrize(
    "data, expected",
    [
        # Data blocks of the real panels in vectors.py.
        ("#0000|Nri0/RP0000", SiaEvent("RP", 0, 0, "0000")),
        ("#000110|Nri1BA503^Volum.Taverna   Appartam.Giorno ^", SiaEvent("BA", 503, 1, "000110")),
        ("#22334455|NCQ1", SiaEvent("CQ", 1, None, "22334455")),
        (
            "#12345|Nri0000pi0006da10-26-18ti09:50:24UT0000^$PR,SCOMPARSA          ,Centrale^",
            SiaEvent("UT", 0, 0, "12345"),
        ),
        # pysiaalarm test cases (tests/test_sia_package_cases.py): no '#acct|'.
        ("|Nri1/CL501", SiaEvent("CL", 501, 1, None)),
        ("Nri1/WA000", SiaEvent("WA", 0, 1, None)),
        ("#006969|Nri04/OP001NM", None),  # trailing letters: not read as one event
    ],
)
def test_published_data_blocks(data: str, expected: SiaEvent | None) -> None:
    if expected is None:
        with pytest.raises(FrameError, match="not a SIA event block"):
            parse_event_data(data)
    else:
        assert parse_event_data(data) == expected


@given(
    st.text("0123456789ABCDEF", min_size=3, max_size=16),
    st.sampled_from(list(SiaCode)),
    st.integers(0, 9999),
)
def test_event_data_round_trips(account: str, code: SiaCode, zone: int) -> None:
    assert parse_event_data(event_data(account, code, zone)) == SiaEvent(code, zone, zone, account)


def test_an_emergency_message_is_exactly_this_frame() -> None:
    message = event_message(account="1A2B", seq=42, code="PA", zone=3, now=WHEN)
    raw = build(message)
    assert raw[9:] == b'"SIA-DCS"0042R0L0#1A2B[#1A2B|Nri3/PA003]_00:00:05,05-01-2024\r'
    assert parse(raw) == message


def test_a_null_message_has_an_empty_data_block_and_a_timestamp() -> None:
    raw = build(null_message(account="1A2B", seq=7, now=WHEN))
    assert raw[9:] == b'"NULL"0007R0L0#1A2B[]_00:00:05,05-01-2024\r'
    key = b"0123456789ABCDEF"
    encrypted = build(null_message(account="1A2B", seq=7, now=WHEN, encrypted=True), key)
    assert encrypted[9:].startswith(b'"*NULL"0007R0L0#1A2B[')
    assert parse(encrypted, key).timestamp == WHEN
