"""DC-09 encryption: AES-CBC, zero IV, pad at the start ending in "|", the key as written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.linkage.dc09 import FrameError, Message, build, key_bytes, parse, unframe
from gateway.linkage.dc09.cipher import (
    PAD_ALPHABET,
    decrypt_region,
    encrypt_region,
    pad_length,
    random_pad,
)
from gateway.linkage.dc09.frame import crc16
from tests.unit.linkage.dc09 import vectors as v

WHEN = datetime(2024, 5, 1, 0, 0, 5, tzinfo=UTC)


def aes_decrypt(hex_text: str, key: bytes) -> bytes:
    """Independent of the code under test: the cryptography library, directly."""
    decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(16))).decryptor()
    return decryptor.update(bytes.fromhex(hex_text)) + decryptor.finalize()


@pytest.mark.parametrize(
    "key, size",
    [
        ("0123456789ABCDEF", 16),  # AES-128
        ("0123456789ABCDEF01234567", 24),  # AES-192
        ("0123456789ABCDEF0123456789ABCDEF", 32),  # AES-256
        ("abcdef0123456789", 16),  # lower case kept as written
    ],
)
def test_the_key_is_its_characters_as_written(key: str, size: int) -> None:
    # Spec 4.2: the characters are the key bytes; NOT bytes.fromhex (which would halve it).
    assert key_bytes(key) == key.encode("ascii")
    assert len(key_bytes(key)) == size


@pytest.mark.parametrize(
    "key", ["", "0123456789ABCDE", "0123456789ABCDEF0", "0123456789ABCDEG", "0" * 64, "键" * 16]
)
def test_keys_of_other_lengths_or_characters_are_refused(key: str) -> None:
    with pytest.raises(FrameError, match="16, 24 or 32 hexadecimal"):
        key_bytes(key)


def test_a_real_panels_encrypted_message_decrypts_with_the_key_as_written() -> None:
    # ioBroker.sia's recorded panel message: key "0123456789ABCDEF" is AES-128 over the
    # 16 ASCII bytes; the panel's pad is 16 binary bytes (its region was a multiple of 16).
    key = key_bytes(v.IOBROKER_ENCRYPTED_KEY)
    message = parse(v.IOBROKER_ENCRYPTED, key)
    assert message.encrypted
    assert (message.token, message.seq, message.account) == ("SIA-DCS", 18, "12345")
    assert message.data == v.IOBROKER_ENCRYPTED_DATA
    assert message.timestamp == datetime(2018, 10, 26, 7, 50, 26, tzinfo=UTC)
    plain = aes_decrypt(unframe(v.IOBROKER_ENCRYPTED).body[1:], key)
    assert plain[16:17] == b"|" and b"|" not in plain[:16]


def test_the_same_message_does_not_decrypt_with_the_hex_reading_of_the_key() -> None:
    wrong = bytes.fromhex("0123456789ABCDEF" * 2)  # 16 bytes from 32 hex digits: not it
    with pytest.raises(FrameError) as caught:
        parse(v.IOBROKER_ENCRYPTED, wrong)
    assert caught.value.reason == "decrypt"


def test_the_dc09_generators_encryption_of_the_standards_example_decrypts() -> None:
    assert decrypt_region(v.DC09GEN_CIPHER, v.DC09GEN_KEY) == v.DC09GEN_REGION
    plain = aes_decrypt(v.DC09GEN_CIPHER, v.DC09GEN_KEY)
    assert plain == v.DC09GEN_PAD + b"|" + v.DC09GEN_REGION.encode()


def test_encrypting_the_standards_example_with_the_generators_pad_gives_its_bytes() -> None:
    # Pad length, the "|" terminator, AES-CBC with a zero IV and upper-case hex, all at once.
    assert pad_length(len("|" + v.DC09GEN_REGION)) == len(v.DC09GEN_PAD)
    made = encrypt_region(v.DC09GEN_REGION, v.DC09GEN_KEY, pad=lambda n: v.DC09GEN_PAD[:n])
    assert made == v.DC09GEN_CIPHER.upper()


def test_the_dc09_generators_frame_parses_with_its_timestamp() -> None:
    body = v.DC09GEN_HEADER + v.DC09GEN_CIPHER.encode()
    raw = b"\n" + f"{crc16(body):04X}{len(body):04X}".encode() + body + b"\r"
    message = parse(raw, v.DC09GEN_KEY)
    assert message.encrypted
    assert (message.seq, message.receiver, message.line, message.account) == (
        9876,
        "R579BDF",
        "L789ABC",
        "12345A",
    )
    assert message.data == "12345A|NFA129"
    assert message.timestamp == datetime(2006, 2, 15, 13, 14, 15, tzinfo=UTC)


def test_pysiaalarms_encrypted_null_without_pad_terminator_is_accepted() -> None:
    message = parse(v.PYSIAALARM_NULL, key_bytes(v.PYSIAALARM_NULL_KEY))
    assert (message.token, message.seq, message.account, message.data) == (
        "NULL",
        0,
        "AAAB",
        "",
    )
    assert message.timestamp == datetime(2020, 7, 5, 18, 24, 52, tzinfo=UTC)


@pytest.mark.parametrize("region_length", range(0, 50))
def test_pad_fills_to_a_multiple_of_16_and_is_never_empty(region_length: int) -> None:
    region = "x" * region_length
    plain_length = 1 + region_length  # "|" + region
    pad = pad_length(plain_length)
    assert 1 <= pad <= 16
    assert (pad + plain_length) % 16 == 0
    if plain_length % 16 == 0:
        assert pad == 16  # already a multiple: a whole block of pad (DC-09 5.4.4.3)
    key = b"0123456789ABCDEF"
    plain = aes_decrypt(encrypt_region(region, key), key)
    assert len(plain) == pad + plain_length
    assert plain[pad:] == b"|" + region.encode()
    assert not set(plain[:pad]) & set(b"|[]")


@pytest.mark.parametrize("key", [b"0123456789ABCDEF", b"0" * 24, b"F" * 32])
def test_encrypted_frame_is_upper_case_hex_of_aes_cbc_with_zero_iv(key: bytes) -> None:
    message = Message("SIA-DCS", 7, "1A2B", "R0", "L0", "#1A2B|Nri1/PA001", timestamp=WHEN)
    raw = build(replace(message, encrypted=True), key)
    frame = unframe(raw)
    assert raw.startswith(b"\n") and b'"*SIA-DCS"0007R0L0#1A2B[' in raw
    assert frame.body[1:] == frame.body[1:].upper()
    plain = aes_decrypt(frame.body[1:], key)
    assert plain.endswith(b"|#1A2B|Nri1/PA001]_00:00:05,05-01-2024")
    assert len(plain) % 16 == 0


def test_pads_differ_from_one_message_to_the_next() -> None:
    key = b"0123456789ABCDEF"
    assert encrypt_region("]_00:00:05,05-01-2024", key) != encrypt_region(
        "]_00:00:05,05-01-2024", key
    )
    pad = random_pad(200)
    assert set(pad.decode()) <= set(PAD_ALPHABET)


@pytest.mark.parametrize(
    "pad",
    [lambda n: b"|" * n, lambda n: b"]" * n, lambda n: b"x" * (n + 1), lambda n: b""],
    ids=["bar", "bracket", "too long", "empty"],
)
def test_a_pad_source_that_breaks_the_rules_is_refused(pad: Callable[[int], bytes]) -> None:
    with pytest.raises(FrameError, match="pad"):
        encrypt_region("]", b"0123456789ABCDEF", pad=pad)


@pytest.mark.parametrize(
    "hex_text, match",
    [
        ("", "multiple of 32"),
        ("00" * 15, "multiple of 32"),
        ("ZZ" * 16, "not hexadecimal"),
        ("00" * 16, "wrong key"),  # decrypts to noise
    ],
)
def test_undecryptable_blocks_raise(hex_text: str, match: str) -> None:
    with pytest.raises(FrameError, match=match) as caught:
        decrypt_region(hex_text, b"0123456789ABCDEF")
    assert caught.value.reason == "decrypt"


def test_a_wrong_key_is_detected() -> None:
    message = Message("NULL", 3, "1A2B", "R0", "L0", timestamp=WHEN, encrypted=True)
    raw = build(message, b"0123456789ABCDEF")
    with pytest.raises(FrameError) as caught:
        parse(raw, b"0123456789ABCDEE")
    assert caught.value.reason in ("decrypt", "data", "timestamp")
