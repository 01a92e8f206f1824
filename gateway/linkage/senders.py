"""Police endpoint senders. A sender makes one attempt; the outbox decides about retries."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from gateway.errors import DeliveryFailed
from gateway.linkage.signing import sign
from gateway.settings import WebhookEndpoint


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
    """HTTPS JSON POST with an HMAC signature (spec 4.1). Any 2xx acknowledges."""

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
        }
        try:
            response = await self._client.post(
                self.endpoint.url, content=alarm.body, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise DeliveryFailed(f"no answer within {self.endpoint.timeout_s}s") from exc
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        text = response.text[:500]
        if not response.is_success:
            raise DeliveryFailed(
                f"HTTP {response.status_code}: {text}", status=response.status_code
            )
        return Receipt(status=response.status_code, response=text)

    async def aclose(self) -> None:
        await self._client.aclose()
