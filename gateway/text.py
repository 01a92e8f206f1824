"""Text from outside (device payloads, request bodies, paths) checked once, before it can
reach a database: a lone surrogate cannot be encoded (SQLite raises `UnicodeEncodeError`),
PostgreSQL refuses NUL, and no id, name, guard or tag has a use for control characters.

Pure, so MQTT decode and HTTP validation share one rule and one wording."""

from __future__ import annotations

import re

from gateway.errors import UnsafeText

# C0 controls, DEL and the C1 controls (free text allows tab, LF and CR), and the
# UTF-16 surrogates that Python lets a JSON "\\ud800" produce.
_IDENTIFIER_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_FREE_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def require_safe_text(value: str, *, free_text: bool = False) -> str:
    """`value` itself, or `UnsafeText` saying why it may not be stored, in words a sender
    can act on. `free_text` (notes, descriptions) also allows tab, line feed and CR."""
    pattern = _FREE_TEXT_REFUSED if free_text else _IDENTIFIER_REFUSED
    found = pattern.search(value)
    if found is None:
        return value
    char = found.group()
    position = found.start()
    if "\ud800" <= char <= "\udfff":
        raise UnsafeText(
            f"holds a lone UTF-16 surrogate (U+{ord(char):04X}) at position {position}"
        )
    if char == "\x00":
        raise UnsafeText(f"holds the NUL character (U+0000) at position {position}")
    raise UnsafeText(f"holds the control character U+{ord(char):04X} at position {position}")
