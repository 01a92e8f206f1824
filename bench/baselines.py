"""The bare baselines, each a process of its own (like the gateway) so that each gets a core.

relay: a bare MQTT -> HTTP relay. One aiomqtt QoS-1 subscriber to the alarm topic that, for
    each `press`/`test`, builds the spec 4.1 body, signs it (HMAC-SHA256 over
    `timestamp + "." + body`) and POSTs it with httpx to the police centre, one at a time, in
    the order received; nothing is stored, nothing else is done.

    python -m bench.baselines relay --port P --url http://127.0.0.1:Q/alarms --secret S

consumer: a bare aiomqtt QoS-1 consumer with a persistent session (clean_session=False).
    `--subscribe-only` makes the session and its subscription and disconnects; otherwise it
    connects, counts messages until `--expect` have arrived (paho acknowledges each on
    receipt) and reports the wall-clock times of the first and the last.

    python -m bench.baselines consumer --port P --client-id C [--subscribe-only | --expect N]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import signal
import time
import uuid
from datetime import UTC, datetime

import aiomqtt
import httpx

from bench.common import HOST, PREFIX, emit

ALARM_TOPIC = f"{PREFIX}/+/alarm/+/event"
TELEMETRY_TOPIC = f"{PREFIX}/#"
KINDS = {"press": "emergency", "test": "test"}


def _quiet() -> logging.Logger:
    logger = logging.getLogger("bench.baselines.mqtt")
    logger.setLevel(logging.ERROR)
    return logger


def alarm_body(topic: str, press: dict[str, object]) -> tuple[str, bytes]:
    """The spec 4.1 body for a press: its alarm id and its bytes."""
    _, school, _, device, _ = topic.split("/")
    now = datetime.now(UTC)
    alarm_id = f"{now:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:12]}"
    body = {
        "alarm_id": alarm_id,
        "kind": KINDS[str(press["event"])],
        "school_id": school,
        "school_name": school,
        "device_id": device,
        "location": device,
        "occurred_at": press.get("ts"),
        "received_at": now.isoformat(timespec="milliseconds"),
        "source_id": press.get("id"),
        "snapshot": None,
        "camera": None,
    }
    return alarm_id, json.dumps(body, ensure_ascii=False).encode()


async def relay(port: int, url: str, secret: str) -> None:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    relayed = failed = 0
    key = secret.encode()
    try:
        async with (
            httpx.AsyncClient(timeout=5) as http,
            aiomqtt.Client(
                HOST, port, identifier=f"bench-relay-{uuid.uuid4().hex[:6]}", logger=_quiet()
            ) as client,
        ):
            await client.subscribe(ALARM_TOPIC, qos=1)
            emit({"ready": True})
            async for message in client.messages:
                press = json.loads(bytes(message.payload))
                if press.get("event") not in KINDS:
                    continue
                alarm_id, raw = alarm_body(str(message.topic), press)
                stamp = str(int(time.time()))
                digest = hmac.new(key, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
                headers = {
                    "Content-Type": "application/json; charset=utf-8",
                    "Idempotency-Key": alarm_id,
                    "X-Campus-Timestamp": stamp,
                    "X-Campus-Signature": f"sha256={digest}",
                }
                for _ in range(3):  # a bare relay: a couple of quick retries, no more
                    try:
                        response = await http.post(url, content=raw, headers=headers)
                    except httpx.HTTPError:
                        continue
                    if response.is_success:
                        relayed += 1
                        break
                else:
                    failed += 1
    except asyncio.CancelledError:
        pass
    emit({"result": {"relayed": relayed, "failed": failed}})


async def consumer(
    port: int, client_id: str, subscribe_only: bool, expect: int, timeout_s: float
) -> None:
    count = 0
    first = last = cpu_first = cpu_last = 0.0
    async with aiomqtt.Client(
        HOST, port, identifier=client_id, clean_session=False, logger=_quiet(), timeout=30
    ) as client:
        connected = time.time()
        if subscribe_only:
            await client.subscribe(TELEMETRY_TOPIC, qos=1)
            emit({"ready": True})
            emit({"result": {"subscribed": TELEMETRY_TOPIC}})
            return
        emit({"ready": True})
        try:
            async with asyncio.timeout(timeout_s):
                async for _message in client.messages:
                    count += 1
                    if count == 1:
                        first, cpu_first = time.time(), time.process_time()
                    if count >= expect:
                        break
        except TimeoutError:
            pass
        last, cpu_last = time.time(), time.process_time()
    emit(
        {
            "result": {
                "count": count,
                "connected": connected,
                "first": first,
                "last": last,
                "cpu_s": cpu_last - cpu_first,
            }
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baselines", description=__doc__)
    parser.add_argument("role", choices=["relay", "consumer"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--url", help="relay: the police centre's POST URL")
    parser.add_argument("--secret", help="relay: the webhook secret")
    parser.add_argument("--client-id", default="bench-bare-consumer")
    parser.add_argument("--subscribe-only", action="store_true")
    parser.add_argument("--expect", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if args.role == "relay":
        if not args.url or not args.secret:
            parser.error("relay needs --url and --secret")
        asyncio.run(relay(args.port, args.url, args.secret))
    else:
        asyncio.run(
            consumer(args.port, args.client_id, args.subscribe_only, args.expect, args.timeout)
        )


if __name__ == "__main__":
    main()
