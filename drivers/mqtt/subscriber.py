"""MQTT subscriber over aiomqtt 2.x: a persistent session whose QoS-1 messages are
acknowledged to the broker only when the caller says so (after storing them).

Manual acknowledgement is paho's (`manual_ack_set`), reached through aiomqtt's client: with
it a crash between receipt and storage loses nothing, the broker redelivers on reconnect."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import ssl
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import aiomqtt

from gateway.errors import DeviceUnavailable

log = logging.getLogger("drivers.mqtt")

StateCallback = Callable[[bool, str], None]
FAREWELL_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class MqttConnection:
    host: str
    port: int
    client_id: str
    username: str | None = None
    # Out of the repr: a connection printed in a log or a traceback must not show it.
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: str | None = None
    keepalive_s: int = 30
    connect_timeout_s: float = 10.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    payload: bytes
    qos: int
    retained: bool
    received_at: datetime
    # Which connection delivered it: an ack only makes sense on that same connection.
    session: int
    mid: int


class MqttSubscriber:
    """`async with MqttSubscriber(...) as sub: async for batch in sub.batches(): ...; sub.ack(m)`

    Reconnects forever with capped, jittered backoff, re-subscribing each time; reports the
    connection state through `on_state` (once per change)."""

    def __init__(
        self,
        connection: MqttConnection,
        topics: Sequence[str],
        *,
        will: tuple[str, str] | None = None,
        birth: tuple[str, str] | None = None,
        on_state: StateCallback | None = None,
        max_batch: int = 500,
        linger_s: float = 0.0,
        defend_birth: bool = False,
    ) -> None:
        """`defend_birth`: other clients share the birth topic (gateway instances, each with
        the same will): when it says anything else, say the birth again, so that it reads
        `offline` only when every one of them is gone."""
        self._connection = connection
        self._topics = list(topics)
        self._will = will
        self._birth = birth
        self._defended = birth if defend_birth else None
        if self._defended is not None:
            self._topics.append(self._defended[0])
        self._on_state = on_state or (lambda up, detail: None)
        self._max_batch = max_batch
        self._linger_s = linger_s
        self._client: aiomqtt.Client | None = None
        self._session = 0
        self._stopping = False

    async def __aenter__(self) -> MqttSubscriber:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping = True

    def ack(self, message: InboundMessage) -> None:
        """Acknowledge a QoS>0 message to the broker. A message from a connection that has
        since dropped is not acknowledged: the broker will deliver it again."""
        if message.qos == 0 or message.session != self._session or self._client is None:
            return
        self._client._client.ack(message.mid, message.qos)

    async def publish(
        self, topic: str, payload: str, *, retain: bool = False, timeout_s: float = 5.0
    ) -> None:
        """Publish on the current connection (QoS 1). Raises DeviceUnavailable when down."""
        client = self._client
        if client is None:
            raise DeviceUnavailable("not connected to the MQTT broker")
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=timeout_s)
        except aiomqtt.MqttError as exc:
            raise DeviceUnavailable(f"publish to {topic} failed: {exc}") from exc

    async def batches(self) -> AsyncIterator[list[InboundMessage]]:
        """Messages as they come, in batches of what is already waiting (at least one)."""
        delay = self._connection.reconnect_initial_s
        while not self._stopping:
            try:
                async with self._make_client() as client:
                    await self._on_connected(client)
                    delay = self._connection.reconnect_initial_s
                    try:
                        async for batch in self._read(client):
                            if self._defended is not None:
                                batch = await self._defend(client, batch)
                            if batch:
                                yield batch
                    except asyncio.CancelledError:
                        await self._farewell(client)
                        raise
            except aiomqtt.MqttError as exc:
                self._client = None
                self._on_state(False, f"{self._connection.host}:{self._connection.port}: {exc}")
            finally:
                self._client = None
            if self._stopping:
                break
            _raise_if_cancel_was_lost()
            await asyncio.sleep(delay * (0.5 + random.random() / 2))
            delay = min(self._connection.reconnect_max_s, delay * 2)

    async def _farewell(self, client: aiomqtt.Client) -> None:
        """On a clean stop the broker does not publish the will: say it ourselves."""
        if self._will is None:
            return
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(
                self._will[0], self._will[1], qos=1, retain=True, timeout=FAREWELL_TIMEOUT_S
            )

    async def _defend(
        self, client: aiomqtt.Client, batch: list[InboundMessage]
    ) -> list[InboundMessage]:
        """Take the birth topic's messages out of the batch; answer another word with ours."""
        assert self._defended is not None
        topic, payload = self._defended
        rest = []
        for message in batch:
            if message.topic != topic:
                rest.append(message)
                continue
            if message.payload.decode(errors="replace") != payload:
                await client.publish(
                    topic, payload, qos=1, retain=True, timeout=self._connection.connect_timeout_s
                )
            self.ack(message)
        return rest

    def _make_client(self) -> aiomqtt.Client:
        c = self._connection
        tls_context = None
        if c.tls:
            tls_context = ssl.create_default_context(cafile=c.ca_file)
        will = None
        if self._will is not None:
            will = aiomqtt.Will(self._will[0], self._will[1], qos=1, retain=True)
        client = aiomqtt.Client(
            c.host,
            c.port,
            username=c.username,
            password=c.password,
            identifier=c.client_id,
            clean_session=False,
            keepalive=c.keepalive_s,
            timeout=c.connect_timeout_s,
            will=will,
            tls_context=tls_context,
        )
        client._client.manual_ack_set(True)
        return client

    async def _on_connected(self, client: aiomqtt.Client) -> None:
        self._session += 1
        await self._subscribe(client)
        self._client = client
        if self._birth is not None:
            await client.publish(
                self._birth[0],
                self._birth[1],
                qos=1,
                retain=True,
                timeout=self._connection.connect_timeout_s,
            )
        self._on_state(
            True, f"{self._connection.host}:{self._connection.port} as {self._connection.client_id}"
        )

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        """Subscribe to every topic, waiting for the broker's SUBACK as long as it keeps
        delivering. A persistent session's backlog comes first: after an outage Mosquitto
        sends every queued message before the SUBACK (100,000 take several seconds), so a
        fixed timeout would drop the connection each time and the backlog would never drain.
        A whole `connect_timeout_s` with neither SUBACK nor message is a dead connection."""
        subscribing = asyncio.ensure_future(self._subscribe_each(client))
        try:
            arrived = -1
            while True:
                done, _ = await asyncio.wait(
                    {subscribing}, timeout=self._connection.connect_timeout_s
                )
                if done:
                    return subscribing.result()
                waiting = client._queue.qsize()  # the backlog's messages, not read yet
                if waiting == arrived:
                    raise aiomqtt.MqttError(
                        f"no SUBACK and no message for {self._connection.connect_timeout_s:g} s"
                    )
                arrived = waiting
        finally:
            if not subscribing.done():
                subscribing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await subscribing

    async def _subscribe_each(self, client: aiomqtt.Client) -> None:
        for topic in self._topics:
            await client.subscribe(topic, qos=1, timeout=math.inf)  # bounded by `_subscribe`

    async def _read(self, client: aiomqtt.Client) -> AsyncIterator[list[InboundMessage]]:
        iterator = aiter(client.messages)
        session = self._session
        while True:
            first = await anext(iterator)
            batch = [self._convert(first, session)]
            self._take_waiting(client, batch, session)
            if self._linger_s and len(batch) < self._max_batch:
                # Gather more for one transaction; a plain sleep (never a cancelled read,
                # which could drop a message taken from the queue at that instant).
                await asyncio.sleep(self._linger_s)
                self._take_waiting(client, batch, session)
            yield batch

    def _take_waiting(
        self, client: aiomqtt.Client, batch: list[InboundMessage], session: int
    ) -> None:
        """Add what is already queued, up to the batch size. Straight from aiomqtt's queue:
        its iterator makes a task and an `asyncio.wait` per message, a fifth of the CPU."""
        queue = client._queue
        while len(batch) < self._max_batch and not queue.empty():
            batch.append(self._convert(queue.get_nowait(), session))

    @staticmethod
    def _convert(message: Any, session: int) -> InboundMessage:
        payload = message.payload
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes | bytearray):
            payload = str(payload).encode()
        return InboundMessage(
            topic=str(message.topic),
            payload=bytes(payload),
            qos=int(message.qos),
            retained=bool(message.retain),
            received_at=datetime.now(UTC),
            session=session,
            mid=int(message.mid),
        )


def _raise_if_cancel_was_lost() -> None:
    """Python 3.11's `asyncio.wait_for` (aiomqtt's connect) returns the result when the
    CONNACK lands as the task is being cancelled, losing the CancelledError (CPython
    gh-86296, fixed in 3.12); the reconnect loop would then outlive its own cancellation and
    hold up the gateway's shutdown. The request is still counted on the task."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
