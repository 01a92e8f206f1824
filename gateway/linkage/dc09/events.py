"""What our alarms say in SIA DC-03 terms inside a DC-09 `"SIA-DCS"` message (spec 4.2).

The data block is `#<acct>|Nri<zone>/<code><zone:03>`, e.g. `#1A2B|Nri3/PA003`: the account
again, `N` (new event), the area modifier `ri`, then the two-letter event code and its unit
number. The button's zone goes into both numbers: receivers that take the zone from the unit
number after the code (the DC-03 way) and those that take it from `ri` (Home Assistant's SIA
integration, pysiaalarm) both read the button's zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from gateway.linkage.dc09.cipher import FrameError
from gateway.linkage.dc09.frame import Message, Token

ZONE_MAX = 9999


class SiaCode(StrEnum):
    PANIC_ALARM = "PA"
    PANIC_RESTORAL = "PR"
    MANUAL_TEST = "RX"
    TAMPER_ALARM = "TA"


# Device events (spec 4.2) and the gateway's alarm kinds (AlarmKind values) to SIA codes.
CODE_OF_EVENT: dict[str, SiaCode] = {
    "press": SiaCode.PANIC_ALARM,
    "restore": SiaCode.PANIC_RESTORAL,
    "test": SiaCode.MANUAL_TEST,
    "tamper": SiaCode.TAMPER_ALARM,
}
CODE_OF_ALARM: dict[str, SiaCode] = {
    "emergency": SiaCode.PANIC_ALARM,
    "test": SiaCode.MANUAL_TEST,
    "restore": SiaCode.PANIC_RESTORAL,
    "tamper": SiaCode.TAMPER_ALARM,
}

# `#acct|` is optional (the account may be in the header only); then N, modifiers
# (two lower-case letters and their value: ri area, id user, ti time, ...), an optional "/",
# the code, its unit number and an optional ^text^.
_EVENT = re.compile(
    r"(?:#(?P<account>[0-9A-Fa-f]{3,16}))?\|?N(?P<modifiers>(?:[a-z]{2}[0-9:,-]*)*)/?"
    r"(?P<code>[A-Z]{2})(?P<zone>\d{0,4})(?:\^[^\^]*\^)?"
)
_MODIFIER = re.compile(r"([a-z]{2})([0-9:,-]*)")


@dataclass(frozen=True, slots=True)
class SiaEvent:
    code: str
    zone: int
    area: int | None = None
    account: str | None = None


def code_for_alarm(kind: str) -> SiaCode:
    try:
        return CODE_OF_ALARM[kind]
    except KeyError:
        raise FrameError("data", f"no SIA code for alarm kind {kind!r}") from None


def event_data(account: str, code: str, zone: int) -> str:
    if not 0 <= zone <= ZONE_MAX:
        raise FrameError("data", f"zone {zone} is not 0..{ZONE_MAX}")
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise FrameError("data", f"SIA code {code!r} is not two capital letters")
    return f"#{account}|Nri{zone}/{code}{zone:03d}"


def parse_event_data(data: str) -> SiaEvent:
    """The first event of a SIA-DCS data block."""
    match = _EVENT.fullmatch(data)
    if match is None:
        raise FrameError("data", f"not a SIA event block: {data[:64]!r}")
    areas = [v for k, v in _MODIFIER.findall(match["modifiers"]) if k == "ri" and v.isdigit()]
    return SiaEvent(
        code=match["code"],
        zone=int(match["zone"] or 0),
        area=int(areas[0]) if areas else None,
        account=match["account"],
    )


def event_message(
    *,
    account: str,
    seq: int,
    code: str,
    zone: int,
    now: datetime,
    receiver: str | None = "R0",
    line: str = "L0",
    encrypted: bool = False,
) -> Message:
    """A `"SIA-DCS"` message; its timestamp is the time of sending (the receiver's replay
    window is about a minute), not the time the button was pressed."""
    return Message(
        token=Token.SIA_DCS,
        seq=seq,
        account=account,
        receiver=receiver,
        line=line,
        data=event_data(account, code, zone),
        timestamp=now,
        encrypted=encrypted,
    )


def null_message(
    *,
    account: str,
    seq: int,
    now: datetime,
    receiver: str | None = "R0",
    line: str = "L0",
    encrypted: bool = False,
) -> Message:
    """The supervision (link test) message: `"NULL"` with an empty data block."""
    return Message(
        token=Token.NULL,
        seq=seq,
        account=account,
        receiver=receiver,
        line=line,
        timestamp=now,
        encrypted=encrypted,
    )
