"""Refused messages, logged with their reason and a copy that can be sent again once the
cause is fixed (docs/reliability.md, "Replaying a refused message"), at most `per_minute`
lines per reason: a device flooding garbage must not flood the log."""

from __future__ import annotations

import base64
import json
import logging
import time

from gateway.errors import PayloadRejected

log = logging.getLogger("gateway.ingest")

# A payload larger than this is refused as too large; its copy would be no use.
REPLAY_MAX_BYTES = 64 * 1024


def replay_line(topic: str, payload: bytes) -> str:
    """The message as one line of JSON, `{"topic": ..., "payload_base64": ...}`: ASCII
    whatever it holds, so that a lone surrogate or a NUL survives any log pipeline."""
    if len(payload) > REPLAY_MAX_BYTES:
        return json.dumps({"topic": topic, "payload_bytes": len(payload)})
    encoded = base64.b64encode(payload).decode("ascii")
    return json.dumps({"topic": topic, "payload_base64": encoded})


class RejectionLog:
    def __init__(self, per_minute: int = 20) -> None:
        self._per_minute = per_minute
        self._window: dict[str, tuple[float, int]] = {}

    def log(self, topic: str, rejection: PayloadRejected, payload: bytes) -> None:
        now = time.monotonic()
        start, count = self._window.get(rejection.reason, (now, 0))
        if now - start > 60:
            start, count = now, 0
        count += 1
        self._window[rejection.reason] = (start, count)
        if count <= self._per_minute:
            log.warning(
                "rejected %s (%s): %s; replay: %s",
                ascii(topic[:200]),
                rejection.reason,
                ascii(rejection.detail)[1:-1],
                replay_line(topic, payload),
            )
        elif count == self._per_minute + 1:
            log.warning("more %s rejections this minute are counted, not logged", rejection.reason)
