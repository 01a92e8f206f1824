"""The receiving end of the latency benchmark: a lean police centre (spec 4.1), the same one for
the gateway and for the bare relay.

`POST /alarms` checks what the simulated centre (simulators/police.py) checks on the way in:
the HMAC signature over `timestamp + "." + body`, the timestamp's skew, a JSON body whose
`alarm_id` equals the `Idempotency-Key`, and then accepts. The moment of acceptance is
`time.perf_counter_ns()` (CLOCK_MONOTONIC on Linux, one clock for every process of the
machine), kept per `source_id` (the press's message id). It leaves out the simulator's
pydantic validation, receipts file and console line. `GET /timings` returns what it kept.

`--kind simulator` serves simulators.police.PoliceCentre instead, timed at the start of its 2xx
answer, to see what the simulator itself costs.

    python -m bench.centre --port 18110 --secret SECRET [--kind lean|simulator]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]
MAX_SKEW_S = 300


class Timings:
    def __init__(self) -> None:
        self.accepted: dict[str, int] = {}
        self.duplicates = 0
        self.refused = 0

    def accept(self, source_id: str, at_ns: int) -> None:
        if source_id in self.accepted:
            self.duplicates += 1
        else:
            self.accepted[source_id] = at_ns

    def as_json(self) -> bytes:
        return json.dumps(
            {"accepted": self.accepted, "duplicates": self.duplicates, "refused": self.refused}
        ).encode()


async def _body(receive: Receive) -> bytes:
    chunks = []
    more = True
    while more:
        message = await receive()
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class LeanCentre:
    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()
        self.timings = Timings()

    def _check(self, headers: dict[bytes, bytes], raw: bytes) -> dict[str, Any] | None:
        stamp = headers.get(b"x-campus-timestamp", b"")
        signature = headers.get(b"x-campus-signature", b"")
        digest = hmac.new(self.secret, stamp + b"." + raw, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(b"sha256=" + digest.encode(), signature):
            return None
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > MAX_SKEW_S:
            return None
        try:
            alarm = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(alarm, dict) or alarm.get("kind") not in ("emergency", "test"):
            return None
        key = headers.get(b"idempotency-key", b"").decode(errors="replace")
        if key != alarm.get("alarm_id") or not isinstance(alarm.get("source_id"), str):
            return None
        return alarm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/timings":
            await _answer(send, 200, self.timings.as_json())
            return
        if scope["method"] != "POST" or scope["path"] != "/alarms":
            await _answer(send, 404, b'{"detail":"not found"}')
            return
        raw = await _body(receive)
        alarm = self._check(dict(scope["headers"]), raw)
        if alarm is None:
            self.timings.refused += 1
            await _answer(send, 401, b'{"detail":"refused"}')
            return
        self.timings.accept(alarm["source_id"], time.perf_counter_ns())
        answer = {"receipt_id": f"rcpt-{alarm['alarm_id']}", "alarm_id": alarm["alarm_id"]}
        await _answer(send, 200, json.dumps(answer).encode())


class TimedSimulator:
    """simulators.police.PoliceCentre, timed when it starts a 2xx answer to POST /alarms."""

    def __init__(self, secret: str) -> None:
        from simulators.police import PoliceCentre, PoliceOptions

        self.app: App = PoliceCentre(PoliceOptions(secret=secret)).asgi_app()
        self.timings = Timings()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/timings":
            await _answer(send, 200, self.timings.as_json())
            return
        raw = await _body(receive)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": raw, "more_body": False}

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start" and scope["path"] == "/alarms":
                if 200 <= int(message["status"]) < 300:
                    source = json.loads(raw).get("source_id")
                    self.timings.accept(str(source), time.perf_counter_ns())
                else:
                    self.timings.refused += 1
            await send(message)

        await self.app(scope, replay, timed_send)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.centre", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--kind", choices=["lean", "simulator"], default="lean")
    args = parser.parse_args()
    app: App = LeanCentre(args.secret) if args.kind == "lean" else TimedSimulator(args.secret)
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off"
    )


if __name__ == "__main__":
    main()
