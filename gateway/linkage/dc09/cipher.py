"""SIA DC-09 encryption: AES-CBC with an all-zero IV over the padded part of a message.

What is encrypted (DC-09 5.4.4): everything after the opening `[` of the data block — a pad
of pseudo-random bytes, the pad terminator `|`, the data, its closing `]`, any extended data
blocks and the timestamp — padded at its START so the total is a multiple of 16 bytes (1 to
16 pad bytes: a region that is already a multiple of 16 gets 16). The pad never contains `|`,
`[` or `]`, so the first `|` ends it. The ciphertext travels as hexadecimal text.

The key is the configured string's characters as written (spec 4.2): "0123456789ABCDEF" is
the 16-byte AES-128 key b"0123456789ABCDEF", the convention of the receivers (pysiaalarm,
ioBroker.sia) that are set up with the same string. Its case therefore matters.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from gateway.errors import GatewayError

BLOCK = 16
IV = bytes(BLOCK)
KEY_PATTERN = re.compile(r"^(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{24}|[0-9A-Fa-f]{32})$")
# Printable pad characters: the standard allows any byte but | [ ], yet receivers that decode
# the plaintext as text (UTF-8/ASCII) choke on binary pads; letters and digits suit everyone.
PAD_ALPHABET = string.ascii_letters + string.digits
_FORBIDDEN_IN_PAD = frozenset(b"|[]")

PadSource = Callable[[int], bytes]


class FrameError(GatewayError, ValueError):
    """A DC-09 frame could not be built or read. `reason` is a short label: framing, crc,
    length, encoding, header, data, timestamp, key, decrypt."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"DC-09 {reason}: {detail}")


def key_bytes(key: str) -> bytes:
    """The AES key for a configured key string: its ASCII characters, 16/24/32 of them."""
    if not KEY_PATTERN.match(key):
        raise FrameError(
            "key", "the key must be 16, 24 or 32 hexadecimal characters (AES-128/192/256)"
        )
    return key.encode("ascii")


def random_pad(length: int) -> bytes:
    """`length` pseudo-random pad characters (never | [ ])."""
    return "".join(secrets.choice(PAD_ALPHABET) for _ in range(length)).encode("ascii")


def pad_length(region_length: int) -> int:
    """Pad bytes needed in front of a region of this many bytes: 1..16, never 0."""
    return BLOCK - region_length % BLOCK


def encrypt_region(region: str, key: bytes, pad: PadSource = random_pad) -> str:
    """Hex (upper case) of AES-CBC(pad + "|" + region). `region` is what follows the pad
    terminator: data, "]", extended blocks and the timestamp."""
    plain = b"|" + _ascii(region)
    padding = pad(pad_length(len(plain)))
    if len(padding) != pad_length(len(plain)) or _FORBIDDEN_IN_PAD & set(padding):
        raise FrameError("data", "the pad has the wrong length or contains | [ or ]")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).encryptor()
    cipher = encryptor.update(padding + plain) + encryptor.finalize()
    return cipher.hex().upper()


def decrypt_region(hex_text: str, key: bytes) -> str:
    """The region after the pad (data, "]", extended blocks, timestamp) of an encrypted
    message. A pad without its `|` terminator (some receivers omit it in ACK and NULL) is
    accepted: the pad then runs up to the first `]`."""
    if not hex_text or len(hex_text) % (2 * BLOCK):
        raise FrameError(
            "decrypt", f"encrypted block of {len(hex_text)} hex digits is not a multiple of 32"
        )
    try:
        cipher = bytes.fromhex(hex_text)
    except ValueError as exc:
        raise FrameError("decrypt", "encrypted block is not hexadecimal") from exc
    decryptor = Cipher(algorithms.AES(key), modes.CBC(IV)).decryptor()
    plain = decryptor.update(cipher) + decryptor.finalize()
    bar, close = plain.find(b"|"), plain.find(b"]")
    if close < 0:
        raise FrameError("decrypt", "no ']' in the decrypted block: wrong key?")
    rest = plain[bar + 1 :] if 0 <= bar < close else plain[close:]
    try:
        text = rest.decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError("decrypt", "the decrypted block is not ASCII: wrong key?") from exc
    if not text.isprintable():
        raise FrameError("decrypt", "the decrypted block has control characters: wrong key?")
    return text


def _ascii(text: str) -> bytes:
    try:
        return text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise FrameError("encoding", f"not ASCII: {text!r}") from exc
