"""Checks a Modbus TCP answer as its bytes arrive, before pymodbus decodes it.

pymodbus 3.16 waits silently for more bytes after most kinds of malformed answer (so the poll
ends in a plain timeout), and raises out of the transport's `data_received` on others (asyncio
then logs a traceback and drops the connection). Checking the MBAP frame against the one
request in flight instead gives the poll a readable reason at once. Pure functions."""

from __future__ import annotations

import struct
from dataclasses import dataclass

HEADER = struct.Struct(">HHHB")  # transaction id, protocol id (0), length, unit id
MAX_LENGTH = 254  # unit id + PDU of at most 253 bytes


@dataclass(frozen=True, slots=True)
class Expected:
    """What the answer to the request in flight must look like."""

    transaction: int
    unit: int
    function_code: int
    data_bytes: int  # the byte count of a normal answer
    # Requests that timed out on this connection: their late answers are skipped, not errors.
    earlier: frozenset[int] = frozenset()

    @property
    def normal_length(self) -> int:
        return 3 + self.data_bytes  # unit, function code, byte count, data


def answer_problem(data: bytes, expected: Expected) -> str | None:
    """A readable problem with the bytes received so far, or None while they are late
    answers to earlier requests followed by (the beginning of) a well-formed answer."""
    offset = 0
    while True:
        rest = len(data) - offset
        if rest <= 0:
            return None
        tid = int.from_bytes(data[offset : offset + 2], "big") if rest >= 2 else None
        if tid is not None and tid != expected.transaction and tid not in expected.earlier:
            return f"transaction id {tid}, expected {expected.transaction}"
        if rest >= 4 and (protocol := int.from_bytes(data[offset + 2 : offset + 4], "big")):
            return f"protocol id {protocol} (not Modbus TCP)"
        if rest < HEADER.size:
            return None
        _, _, length, unit = HEADER.unpack_from(data, offset)
        if not 2 <= length <= MAX_LENGTH:
            return f"MBAP length {length} is outside 2..{MAX_LENGTH}"
        end = offset + 6 + length
        if tid != expected.transaction:
            offset = end  # a late answer: pymodbus skips it by its transaction id
            continue
        if expected.unit and unit != expected.unit:
            return f"answer from unit {unit} to a request for unit {expected.unit}"
        problem = _pdu_problem(data[offset + HEADER.size : end], length, expected)
        if problem is None and len(data) > end:
            problem = f"{len(data) - end} stray bytes after the answer"
        return problem


def _pdu_problem(pdu: bytes, length: int, expected: Expected) -> str | None:
    """Problems with the PDU of the answer (possibly still incomplete)."""
    if not pdu:
        return None
    function = pdu[0]
    if function == expected.function_code | 0x80:
        if length != 3:
            return f"exception answer with MBAP length {length}, expected 3"
        return None
    if function != expected.function_code:
        return f"function code {function} in the answer to function code {expected.function_code}"
    if length != expected.normal_length:
        return f"MBAP length {length}, expected {expected.normal_length}"
    if len(pdu) >= 2 and pdu[1] != expected.data_bytes:
        return f"byte count {pdu[1]}, expected {expected.data_bytes}"
    return None


def late_prefix(data: bytes, expected: Expected) -> int:
    """How many leading bytes of `data` are complete late answers to earlier requests."""
    offset = 0
    while len(data) - offset >= HEADER.size:
        tid, _, length, _ = HEADER.unpack_from(data, offset)
        end = offset + 6 + length
        if tid == expected.transaction or tid not in expected.earlier or end > len(data):
            break
        offset = end
    return offset
