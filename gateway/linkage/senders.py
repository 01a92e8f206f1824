"""Police endpoint senders. A sender makes one attempt; the outbox decides about retries."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

import httpx

from gateway.errors import DeliveryFailed
from gateway.linkage.signing import sign
from gateway.settings import WebhookEndpoint

ANSWER_READ_LIMIT = 4096  # bytes of an endpoint's answer read at most; the rest is never read
RECEIPT_CHARS = 500  # characters of it kept as the receipt


@dataclass(frozen=True, slots=True)
class Receipt:
    status: int | None
    response: str


@dataclass(frozen=True, slots=True)
class OutgoingAlarm:
    alarm_id: str
    kind: str  # AlarmKind value: emergency | test
    body: bytes  # the webhook body (spec 4.1)
    # What a SIA DC-09 receiver is told (spec 4.2): the button's zone and the device time.
    zone: int = 0
    occurred_at: datetime | None = None


class AlarmSender(Protocol):
    endpoint_id: str

    async def send(self, alarm: OutgoingAlarm) -> Receipt:
        """One attempt; raises DeliveryFailed unless the endpoint acknowledged."""
        ...

    async def aclose(self) -> None: ...


class WebhookSender:
    """HTTPS JSON POST with an HMAC signature (spec 4.1). Any 2xx acknowledges.

    One attempt has one deadline, the endpoint's `timeout_s`, for everything: a connection
    from the pool, connecting, sending and reading the answer (httpx's own timeout is per
    read, which an endpoint trickling a byte at a time never reaches). At most
    `ANSWER_READ_LIMIT` bytes of the answer are read, then the connection is closed: a 2xx
    with a huge body still acknowledges, and its first characters are the receipt."""

    def __init__(self, endpoint: WebhookEndpoint, client: httpx.AsyncClient | None = None) -> None:
        self.endpoint = endpoint
        self.endpoint_id = endpoint.id
        verify: bool | str = endpoint.ca_file or endpoint.verify_tls
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(endpoint.timeout_s),
            verify=verify,
            # An idle connection is dropped before the centre's own keep-alive timeout (5 s
            # for uvicorn, often more elsewhere) can close it under an alarm being sent:
            # that race cost an alarm a retry (seen in the demo, presses 5 s apart).
            limits=httpx.Limits(
                max_connections=16, max_keepalive_connections=8, keepalive_expiry=2.0
            ),
            headers={"User-Agent": "campus-gateway"},
        )

    async def send(self, alarm: OutgoingAlarm) -> Receipt:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": alarm.alarm_id,
            "X-Campus-Timestamp": timestamp,
            "X-Campus-Signature": sign(self.endpoint.secret, timestamp, alarm.body),
            # The answer is read raw and capped: a compressed one would expand past the cap.
            "Accept-Encoding": "identity",
        }
        deadline = self.endpoint.timeout_s
        phase = "waiting for the answer"
        try:
            async with (
                asyncio.timeout(deadline),
                self._client.stream(
                    "POST", self.endpoint.url, content=alarm.body, headers=headers
                ) as response,
            ):
                phase = f"reading the HTTP {response.status_code} answer"
                head = await read_at_most(response, ANSWER_READ_LIMIT)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise DeliveryFailed(f"no complete answer within {deadline:g} s ({phase})") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        text = head.decode(response.encoding or "utf-8", errors="replace")[:RECEIPT_CHARS]
        if not response.is_success:
            raise DeliveryFailed(
                f"HTTP {response.status_code}: {text}", status=response.status_code
            )
        return Receipt(status=response.status_code, response=text)

    async def aclose(self) -> None:
        await self._client.aclose()


async def read_at_most(response: httpx.Response, limit: int) -> bytes:
    """The first `limit` bytes of the body as sent (no decoding), or all of a shorter one."""
    head = bytearray()
    # httpx makes it an async generator: closed here, not by the garbage collector.
    raw = cast(AsyncGenerator[bytes, None], response.aiter_raw())
    async with contextlib.aclosing(raw) as chunks:
        async for chunk in chunks:
            head += chunk[: limit - len(head)]
            if len(head) >= limit:
                break
    return bytes(head)
