"""answer_problem: a Modbus TCP answer checked as its bytes arrive."""

from __future__ import annotations

import struct

import pytest

from drivers.modbus.mbap import Expected, answer_problem, late_prefix

READ_8_COILS = Expected(transaction=7, unit=1, function_code=1, data_bytes=1)
READ_2_REGISTERS = Expected(transaction=7, unit=1, function_code=3, data_bytes=4)


def frame(tid: int, pdu: bytes, *, unit: int = 1, length: int | None = None) -> bytes:
    size = len(pdu) + 1 if length is None else length
    return struct.pack(">HHHB", tid, 0, size, unit) + pdu


GOOD_COILS = frame(7, bytes([1, 1, 0b101]))
GOOD_REGISTERS = frame(7, bytes([3, 4, 0, 1, 0, 2]))


@pytest.mark.parametrize(
    "expected, data",
    [
        pytest.param(READ_8_COILS, b"", id="nothing yet"),
        pytest.param(READ_8_COILS, GOOD_COILS, id="good coils"),
        pytest.param(READ_2_REGISTERS, GOOD_REGISTERS, id="good registers"),
        pytest.param(READ_2_REGISTERS, GOOD_REGISTERS[:9], id="good so far"),
        pytest.param(READ_8_COILS, GOOD_COILS[:1], id="one byte"),
        pytest.param(READ_8_COILS, frame(7, bytes([0x81, 2])), id="exception answer"),
        pytest.param(
            Expected(7, 1, 1, 1, frozenset({5, 6})),
            frame(5, bytes([1, 1, 0])) + frame(6, bytes([1, 1, 0])) + GOOD_COILS,
            id="late answers first",
        ),
        pytest.param(
            Expected(7, 0, 1, 1), frame(7, bytes([1, 1, 0]), unit=9), id="unit 0 takes any unit"
        ),
    ],
)
def test_acceptable(expected: Expected, data: bytes) -> None:
    assert answer_problem(data, expected) is None


@pytest.mark.parametrize(
    "expected, data, problem",
    [
        pytest.param(
            READ_8_COILS, b"HTTP/1.1 400", "transaction id 18516, expected 7", id="garbage"
        ),
        pytest.param(
            READ_8_COILS, b"\x00\x07\x12\x34", "protocol id 4660 (not Modbus TCP)", id="protocol"
        ),
        pytest.param(
            READ_8_COILS,
            frame(8, bytes([1, 1, 0])),
            "transaction id 8, expected 7",
            id="other transaction",
        ),
        pytest.param(
            READ_8_COILS,
            frame(7, bytes([1, 1, 0]), length=300),
            "MBAP length 300 is outside 2..254",
            id="absurd length",
        ),
        pytest.param(
            READ_8_COILS,
            frame(7, bytes([1, 1, 0]), length=9),
            "MBAP length 9, expected 4",
            id="wrong length",
        ),
        pytest.param(
            READ_8_COILS,
            frame(7, bytes([1, 1, 0]), unit=2),
            "answer from unit 2 to a request for unit 1",
            id="other unit",
        ),
        pytest.param(
            READ_8_COILS,
            frame(7, bytes([2, 1, 0])),
            "function code 2 in the answer to function code 1",
            id="other function",
        ),
        pytest.param(
            READ_8_COILS,
            frame(7, bytes([0x81, 2, 0])),
            "exception answer with MBAP length 4, expected 3",
            id="long exception",
        ),
        pytest.param(
            READ_2_REGISTERS,
            frame(7, bytes([3, 2, 0, 1])),
            "MBAP length 5, expected 7",
            id="short answer",
        ),
        pytest.param(
            READ_2_REGISTERS,
            frame(7, bytes([3, 2, 0, 1, 0, 2])),
            "byte count 2, expected 4",
            id="byte count disagrees",
        ),
        pytest.param(
            READ_8_COILS, GOOD_COILS + b"\x00\x00", "2 stray bytes after the answer", id="stray"
        ),
        pytest.param(
            Expected(7, 1, 1, 1, frozenset({6})),
            frame(6, bytes([1, 1, 0]), length=400),
            "MBAP length 400 is outside 2..254",
            id="bad late answer",
        ),
    ],
)
def test_problems(expected: Expected, data: bytes, problem: str) -> None:
    assert answer_problem(data, expected) == problem


def test_late_prefix_counts_complete_late_answers_only() -> None:
    expected = Expected(7, 1, 1, 1, frozenset({5, 6}))
    late = frame(5, bytes([1, 1, 0])) + frame(6, bytes([1, 1, 0]))
    assert late_prefix(late + GOOD_COILS[:8], expected) == len(late)
    assert late_prefix(late[:12], expected) == 10  # the second late answer is incomplete
    assert late_prefix(GOOD_COILS, expected) == 0
    assert late_prefix(b"", expected) == 0
