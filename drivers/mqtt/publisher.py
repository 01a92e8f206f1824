"""Publishing to the MQTT broker (simulated devices, and the gateway's alerts and status).

`MqttPublisher` is an async context manager over one `aiomqtt.Client`. Every publish waits
for the broker's acknowledgement (PUBACK at QoS 1) within `timeout_s`; every aiomqtt, paho or
OS error comes out as `DeviceUnavailable`. A failed connection is dropped and the next
`publish` connects again, so a long-lived publisher survives a broker restart without its
owner rebuilding it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

import aiomqtt

from gateway.errors import ConfigError, DeviceUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    # Out of the repr: an address printed in a log or a traceback must not show it.
    password: str | None = field(repr=False)

    @property
    def display(self) -> str:
        # Never the password: this string goes into errors and logs.
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    """`mqtt://[user:pass@]host[:port]` or `mqtts://...`; a bad URL is a `ConfigError`."""
    parts = urlsplit(url)
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    if parts.scheme not in ("mqtt", "mqtts"):
        raise ConfigError([f"MQTT URL {shown!r}: must start with mqtt:// or mqtts://"])
    if not parts.hostname:
        raise ConfigError([f"MQTT URL {shown!r}: has no host"])
    try:
        port = parts.port
    except ValueError as exc:
        raise ConfigError([f"MQTT URL {shown!r}: has an invalid port"]) from exc
    tls = parts.scheme == "mqtts"
    return BrokerAddress(
        host=parts.hostname,
        port=port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username is not None else None,
        password=unquote(parts.password) if parts.password is not None else None,
    )


class MqttPublisher:
    """Publish with acknowledgement; `will` (topic, payload) is retained at QoS 1.

    `birth` (topic, payload), if given, is published retained on every (re)connection, so a
    status topic reads `online` again after the broker has published the will. On a clean
    exit the will is published too: MQTT discards the will on a clean DISCONNECT, and a
    retained status must not claim `online` for a client that has gone.
    """

    def __init__(
        self,
        url: str,
        *,
        client_id: str | None = None,
        will: tuple[str, str] | None = None,
        birth: tuple[str, str] | None = None,
        timeout_s: float = 10.0,
        ca_file: str | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError("timeout_s must be positive")
        self._address = parse_broker_url(url)
        self._client_id = client_id
        self._will = will
        self._birth = birth
        self._timeout_s = timeout_s
        self._ca_file = ca_file
        self._client: aiomqtt.Client | None = None
        self._entered = False
        self._connect_lock = asyncio.Lock()  # one (re)connection at a time

    @property
    def address(self) -> str:
        return self._address.display

    async def __aenter__(self) -> Self:
        await self._connected_client()
        self._entered = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._entered = False
        client, self._client = self._client, None
        if client is None:
            return
        # Cleanup never raises: it would hide the outcome of the block, and when the
        # connection is already gone the broker has published the will itself.
        try:
            if self._will is not None and client._client.is_connected():
                topic, payload = self._will
                await client.publish(topic, payload, qos=1, retain=True, timeout=self._timeout_s)
            await client.__aexit__(None, None, None)
        except (aiomqtt.MqttError, OSError) as error:
            log.warning("MQTT %s: no clean disconnect (%s)", self.address, error)
            await self._close_quietly(client)

    async def publish(
        self, topic: str, payload: str | bytes, *, qos: int = 1, retain: bool = False
    ) -> None:
        """Publish and wait for the broker's acknowledgement, or raise `DeviceUnavailable`."""
        if not self._entered:
            raise RuntimeError("use `async with MqttPublisher(...)` before publishing")
        _check_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"QoS must be 0, 1 or 2, not {qos!r}")
        client = await self._connected_client()
        try:
            await client.publish(topic, payload, qos=qos, retain=retain, timeout=self._timeout_s)
        except (aiomqtt.MqttError, OSError) as exc:
            await self._drop(client)
            raise DeviceUnavailable(
                f"MQTT {self.address}: publish to {topic!r} not acknowledged ({exc})"
            ) from exc

    async def _connected_client(self) -> aiomqtt.Client:
        async with self._connect_lock:
            if self._client is not None:
                # paho notices a closed socket at once; reconnecting now spares the caller a
                # publish that could only time out (e.g. after a broker restart).
                if self._client._client.is_connected():
                    return self._client
                await self._drop(self._client)
            client = self._new_client()
            try:
                await client.__aenter__()
            except (aiomqtt.MqttError, OSError) as exc:
                # aiomqtt leaves the socket open when CONNACK never came; paho closes it
                # once its DISCONNECT is written.
                client._client.disconnect()
                raise DeviceUnavailable(f"MQTT {self.address}: cannot connect ({exc})") from exc
            if self._birth is not None:
                topic, payload = self._birth
                try:
                    await client.publish(
                        topic, payload, qos=1, retain=True, timeout=self._timeout_s
                    )
                except (aiomqtt.MqttError, OSError) as exc:
                    await self._close_quietly(client)
                    raise DeviceUnavailable(
                        f"MQTT {self.address}: status {topic!r} not acknowledged ({exc})"
                    ) from exc
            self._client = client
            return client

    def _new_client(self) -> aiomqtt.Client:
        address = self._address
        tls_context: ssl.SSLContext | None = None
        if address.tls:
            try:
                tls_context = ssl.create_default_context(cafile=self._ca_file)
            except OSError as exc:
                raise DeviceUnavailable(
                    f"MQTT {self.address}: cannot load CA file {self._ca_file!r} ({exc})"
                ) from exc
        will = None
        if self._will is not None:
            will = aiomqtt.Will(self._will[0], self._will[1], qos=1, retain=True)
        client = aiomqtt.Client(
            address.host,
            address.port,
            username=address.username,
            password=address.password,
            identifier=self._client_id,
            will=will,
            timeout=self._timeout_s,
            tls_context=tls_context,
        )
        # paho's TCP connect has its own 5 s limit that aiomqtt does not expose; bound it by
        # ours so a dead host fails as fast as the caller asked.
        client._client.connect_timeout = self._timeout_s
        return client

    async def _drop(self, client: aiomqtt.Client) -> None:
        """Forget a connection that failed, so the next publish opens a fresh one."""
        if self._client is client:
            self._client = None
        await self._close_quietly(client)

    async def _close_quietly(self, client: aiomqtt.Client) -> None:
        with contextlib.suppress(aiomqtt.MqttError, OSError):
            await client.__aexit__(None, None, None)


def _check_topic(topic: str) -> None:
    # Checked here so a caller's mistake is not reported as an unreachable broker.
    if not topic or "+" in topic or "#" in topic or "\0" in topic:
        raise ValueError(f"invalid MQTT topic for publishing: {topic!r}")
