"""SIA DC-09 framing (ANSI/SIA DC-09-2013): a pure codec, no I/O.

    <LF><crc><0LLL>"<id>"<seq>[R<rcvr>]L<pref>#<acct>[<data>][<ext>]..._<HH:MM:SS,MM-DD-YYYY><CR>

`crc` is CRC-16/ARC (polynomial 0x8005 reflected = 0xA001, initial 0) of everything from the
opening `"` of the id token to the character before <CR>, as 4 upper-case hex digits; `0LLL`
is the length of the same part, 4 hex digits. The id token is `"*SIA-DCS"` (star: the part
after `[` is encrypted, see cipher.py), `"NULL"` (link test), `"ACK"`, `"NAK"`, `"DUH"`.
A NAK has the fixed header `"NAK"0000R0L0A0` and the receiver's time; the timestamp is UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from gateway.linkage.dc09.cipher import (
    FrameError,
    PadSource,
    decrypt_region,
    encrypt_region,
    random_pad,
)

LF, CR = b"\n", b"\r"
MAX_LENGTH = 0xFFF  # `0LLL`: three hex digits of length after a literal 0
SEQ_MAX = 9999
TIMESTAMP_FORMAT = "%H:%M:%S,%m-%d-%Y"


class Token(StrEnum):
    SIA_DCS = "SIA-DCS"
    ADM_CID = "ADM-CID"
    NULL = "NULL"
    ACK = "ACK"
    NAK = "NAK"
    DUH = "DUH"
    RSP = "RSP"


_HEADER = re.compile(
    r'"(?P<star>\*?)(?P<token>[A-Z0-9-]{1,16})"(?P<seq>[0-9]{4})'
    r"(?P<receiver>R[0-9A-Fa-f]{1,6})?(?P<line>L[0-9A-Fa-f]{0,6})?"
    r"(?:#(?P<account>[0-9A-Fa-f]{3,16})|A[0-9A-Fa-f]{1,16})\["
)
_TIMESTAMP = re.compile(r"_(\d\d):(\d\d):(\d\d),(\d\d)-(\d\d)-(\d{4})")
_RECEIVER = re.compile(r"^R[0-9A-Fa-f]{1,6}$")
_LINE = re.compile(r"^L[0-9A-Fa-f]{0,6}$")
_ACCOUNT = re.compile(r"^[0-9A-Fa-f]{3,16}$")
NAK_ACCOUNT = "A0"  # the NAK names no account


@dataclass(frozen=True, slots=True)
class Message:
    """One DC-09 message. `account` None is the `A0` of a NAK; `receiver`/`line` are as
    written ("R0", "L0") or None when absent; `data` is the text between `[` and `]`."""

    token: str
    seq: int
    account: str | None
    receiver: str | None = None
    line: str | None = "L0"
    data: str = ""
    extended: tuple[str, ...] = ()
    timestamp: datetime | None = None
    encrypted: bool = False


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame whose CRC, length and header are valid, its body (from `[`) still unread:
    a receiver needs the account and sequence number before it can decrypt or answer."""

    token: str
    seq: int
    account: str | None
    receiver: str | None
    line: str | None
    body: str
    encrypted: bool


def crc16(data: bytes) -> int:
    """CRC-16/ARC: reflected polynomial 0xA001, initial value 0, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def format_timestamp(when: datetime) -> str:
    """`_HH:MM:SS,MM-DD-YYYY` in UTC (an aware datetime is converted, a naive one is UTC)."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return "_" + when.strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        raise FrameError("timestamp", f"{text!r} is not _HH:MM:SS,MM-DD-YYYY")
    hour, minute, second, month, day, year = (int(part) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise FrameError("timestamp", f"{text!r}: {exc}") from exc


def build(message: Message, key: bytes | None = None, *, pad: PadSource = random_pad) -> bytes:
    """The bytes on the wire. `key` is required exactly when `message.encrypted`."""
    if message.encrypted != (key is not None):
        raise FrameError("key", "an encrypted message needs the key, a plain one must not have it")
    text = _header(message) + "[" + _region(message, key, pad)
    body = text.encode("ascii")
    if len(body) > MAX_LENGTH:
        raise FrameError("length", f"{len(body)} characters, at most {MAX_LENGTH}")
    return LF + f"{crc16(body):04X}{len(body):04X}".encode("ascii") + body + CR


def unframe(raw: bytes) -> Frame:
    """Check the framing, CRC and length of one frame and read its header."""
    if len(raw) < 10 or not raw.startswith(LF) or not raw.endswith(CR):
        raise FrameError("framing", f"not <LF>...<CR> ({_show(raw)})")
    try:
        text = raw[1:-1].decode("ascii")
    except UnicodeDecodeError as exc:
        raise FrameError("encoding", f"not ASCII ({_show(raw)})") from exc
    crc_text, length_text, body = text[:4], text[4:8], text[8:]
    if not body.isprintable():
        raise FrameError("encoding", f"control characters inside the frame ({_show(raw)})")
    if not _is_hex(crc_text):
        raise FrameError("framing", f"CRC field {crc_text!r} is not 4 hex digits")
    if not _is_hex(length_text):
        raise FrameError("framing", f"length field {length_text!r} is not 4 hex digits")
    if int(length_text, 16) != len(body):
        raise FrameError("length", f"field says {int(length_text, 16)}, message has {len(body)}")
    computed = crc16(body.encode("ascii"))
    if int(crc_text, 16) != computed:
        raise FrameError("crc", f"field says {crc_text.upper()}, message has {computed:04X}")
    match = _HEADER.match(body)
    if match is None:
        raise FrameError("header", f"unreadable header in {body[:48]!r}")
    return Frame(
        token=match["token"],
        seq=int(match["seq"]),
        account=match["account"],
        receiver=match["receiver"],
        line=match["line"],
        body=body[match.end() - 1 :],
        encrypted=bool(match["star"]),
    )


def open_frame(frame: Frame, key: bytes | None = None) -> Message:
    """Decrypt (when encrypted) and read the data, extended data and timestamp of a frame."""
    if frame.encrypted:
        if key is None:
            raise FrameError("key", "the message is encrypted and no key is configured")
        region = decrypt_region(frame.body[1:], key)
    else:
        region = frame.body[1:]
    data, extended, timestamp = _read_region(region)
    if frame.encrypted and timestamp is None:
        raise FrameError("timestamp", "an encrypted message must carry a timestamp")
    return Message(
        token=frame.token,
        seq=frame.seq,
        account=frame.account,
        receiver=frame.receiver,
        line=frame.line,
        data=data,
        extended=extended,
        timestamp=timestamp,
        encrypted=frame.encrypted,
    )


def parse(raw: bytes, key: bytes | None = None) -> Message:
    """One frame, <LF> to <CR>, to a message; raises FrameError with the reason."""
    return open_frame(unframe(raw), key)


def ack(request: Message | Frame, now: datetime) -> Message:
    """The ACK of a request: same sequence number, receiver, line and account; encrypted
    (and then necessarily timestamped) when the request was."""
    return Message(
        token=Token.ACK,
        seq=request.seq,
        account=request.account,
        receiver=request.receiver,
        line=request.line,
        timestamp=now,
        encrypted=request.encrypted,
    )


def nak(now: datetime) -> Message:
    """`"NAK"0000R0L0A0[]_<receiver time>`: never encrypted, it names no message."""
    return Message(Token.NAK, 0, None, receiver="R0", line="L0", timestamp=now)


def duh(request: Message | Frame) -> Message:
    """`"DUH"`: received correctly but cannot be processed; never encrypted."""
    return Message(
        token=Token.DUH,
        seq=request.seq,
        account=request.account,
        receiver=request.receiver,
        line=request.line,
    )


def _header(message: Message) -> str:
    if not 0 <= message.seq <= SEQ_MAX:
        raise FrameError("header", f"sequence number {message.seq} is not 0..{SEQ_MAX}")
    if not re.fullmatch(r"[A-Z0-9-]{1,16}", message.token):
        raise FrameError("header", f"id token {message.token!r} is not valid")
    if message.receiver is not None and not _RECEIVER.match(message.receiver):
        raise FrameError("header", f"receiver {message.receiver!r} is not R + 1-6 hex digits")
    if message.line is not None and not _LINE.match(message.line):
        raise FrameError("header", f"line {message.line!r} is not L + up to 6 hex digits")
    if message.account is None:
        account = NAK_ACCOUNT
    elif _ACCOUNT.match(message.account):
        account = "#" + message.account
    else:
        raise FrameError("header", f"account {message.account!r} is not 3-16 hex digits")
    star = "*" if message.encrypted else ""
    return (
        f'"{star}{message.token}"{message.seq:04d}'
        f"{message.receiver or ''}{message.line or ''}{account}"
    )


def _region(message: Message, key: bytes | None, pad: PadSource) -> str:
    for part in (message.data, *message.extended):
        if not (part.isascii() and part.isprintable()) or "[" in part or "]" in part:
            raise FrameError("data", f"{part!r} must be printable ASCII without [ or ]")
    region = message.data + "]" + "".join(f"[{part}]" for part in message.extended)
    if message.timestamp is not None:
        region += format_timestamp(message.timestamp)
    if key is None:
        return region
    if message.timestamp is None:
        raise FrameError("timestamp", "an encrypted message must carry a timestamp")
    return encrypt_region(region, key, pad)


def _read_region(region: str) -> tuple[str, tuple[str, ...], datetime | None]:
    """`data]` then `[ext]`... then an optional `_timestamp`, and nothing else."""
    close = region.find("]")
    if close < 0 or "[" in region[:close]:
        raise FrameError("data", f"the data block is not closed by ']' in {region[:64]!r}")
    data, rest = region[:close], region[close + 1 :]
    extended: list[str] = []
    while rest.startswith("["):
        end = rest.find("]")
        if end < 0 or "[" in rest[1:end]:
            raise FrameError("data", f"unclosed extended data block in {rest[:64]!r}")
        extended.append(rest[1:end])
        rest = rest[end + 1 :]
    timestamp = parse_timestamp(rest) if rest else None
    return data, tuple(extended), timestamp


def _is_hex(text: str) -> bool:
    return len(text) == 4 and all(c in "0123456789ABCDEFabcdef" for c in text)


def _show(raw: bytes) -> str:
    return repr(raw[:48]) + ("..." if len(raw) > 48 else "")
