"""SIA DC-09 police linkage (spec 4.2): the codec (frame, cipher, events), the transports
and the sender. Only the sender does I/O."""

from gateway.linkage.dc09.cipher import FrameError, key_bytes
from gateway.linkage.dc09.events import (
    CODE_OF_ALARM,
    CODE_OF_EVENT,
    SiaCode,
    SiaEvent,
    code_for_alarm,
    event_data,
    event_message,
    null_message,
    parse_event_data,
)
from gateway.linkage.dc09.frame import (
    Frame,
    Message,
    Token,
    ack,
    build,
    crc16,
    duh,
    format_timestamp,
    nak,
    open_frame,
    parse,
    parse_timestamp,
    unframe,
)
from gateway.linkage.dc09.sender import LinkCallback, SiaDc09Sender

__all__ = [
    "CODE_OF_ALARM",
    "CODE_OF_EVENT",
    "Frame",
    "FrameError",
    "LinkCallback",
    "Message",
    "SiaCode",
    "SiaDc09Sender",
    "SiaEvent",
    "Token",
    "ack",
    "build",
    "code_for_alarm",
    "crc16",
    "duh",
    "event_data",
    "event_message",
    "format_timestamp",
    "key_bytes",
    "nak",
    "null_message",
    "open_frame",
    "parse",
    "parse_event_data",
    "parse_timestamp",
    "unframe",
]
