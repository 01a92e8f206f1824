"""The demo's MQTT broker: amqtt (the `demo` extra) in the demo's own event loop.

`async with EmbeddedBroker("127.0.0.1", 18830) as broker: ...` listens on one plain TCP
listener (no websocket listener, no `$SYS` plugin, no packet or event logging plugins) and
accepts every client without credentials.

Why not amqtt's own `AnonymousAuthPlugin`: with `allow_anonymous` it marks every session
anonymous, and amqtt then forgets an anonymous session as soon as it disconnects and queues
nothing for it, so the gateway's persistent session (`clean_session=False`) would lose every
alarm pressed while it reconnects. `OpenAuth` below lets everyone in without that mark.

Limits of amqtt 0.12 that this broker does not hide (Mosquitto has none of them; see
tests/integration/test_embedded_broker.py): a QoS 1 message delivered but not yet
acknowledged is dropped, not redelivered, when the connection closes or after 5 s without a
PUBACK; messages queued for an offline session arrive with the retain flag set; on connecting,
a client also gets (at QoS 0) the retained messages matching any other client's filters;
sessions and retained messages live in memory only and end with the process.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from gateway.errors import GatewayError

log = logging.getLogger("gateway.demo.broker")

MISSING_AMQTT = "the demo needs the embedded broker: pip install 'campus-gateway[demo]'"
# amqtt logs every connection and state change at INFO; `transitions` drives its state machines.
NOISY_LOGGERS = ("amqtt", "transitions")


class EmbeddedBrokerError(GatewayError):
    """The embedded broker is not installed, or could not start."""


class EmbeddedBroker:
    """An amqtt broker on `host:port` for the lifetime of an `async with` block."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 18830,
        *,
        start_timeout_s: float = 10.0,
        stop_timeout_s: float = 10.0,
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port must be between 1 and 65535, not {port!r}")
        self._host = host
        self._port = port
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._broker: Any = None
        self._log_levels: dict[str, int] = {}

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"mqtt://{host}:{self._port}"

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on `host:port`; raises `EmbeddedBrokerError` when amqtt is missing or the
        port cannot be bound."""
        if self._broker is not None:
            raise RuntimeError("the embedded broker is already running")
        try:
            from amqtt.broker import Broker
        except ImportError as exc:
            raise EmbeddedBrokerError(MISSING_AMQTT) from exc
        self._mute_amqtt()
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self._host}:{self._port}"}},
            # A plugins section replaces amqtt's defaults ($SYS every 20 s, packet logging).
            "plugins": {f"{__name__}.OpenAuth": {}},
        }
        # amqtt logs a failed start (a busy port, say) with a traceback; the error below
        # says the same in one line.
        startup_log = logging.getLogger("amqtt.broker")
        quiet = _DropMessage("Broker startup failed")
        startup_log.addFilter(quiet)
        try:
            broker = Broker(config)
            await asyncio.wait_for(broker.start(), self._start_timeout_s)
        except Exception as exc:  # amqtt wraps bind errors in BrokerError, not OSError
            self._restore_logging()
            raise EmbeddedBrokerError(
                f"cannot start the embedded MQTT broker on {self.url}: {_cause(exc)}"
            ) from exc
        finally:
            startup_log.removeFilter(quiet)
        self._broker = broker
        log.info("embedded MQTT broker (amqtt) listening on %s", self.url)

    async def stop(self) -> None:
        """Close the listener and every client connection. Never raises: a broker that does
        not stop in time is abandoned with a warning."""
        broker, self._broker = self._broker, None
        if broker is None:
            return
        try:
            await asyncio.wait_for(broker.shutdown(), self._stop_timeout_s)
        except Exception as exc:  # the demo is ending; say so and go on
            log.warning("embedded MQTT broker on %s did not stop cleanly: %s", self.url, exc)
        finally:
            self._restore_logging()

    def _mute_amqtt(self) -> None:
        for name in NOISY_LOGGERS:
            logger = logging.getLogger(name)
            self._log_levels[name] = logger.level
            if logger.level < logging.WARNING:
                logger.setLevel(logging.WARNING)

    def _restore_logging(self) -> None:
        for name, level in self._log_levels.items():
            logging.getLogger(name).setLevel(level)
        self._log_levels.clear()


class _DropMessage(logging.Filter):
    def __init__(self, message: str) -> None:
        super().__init__()
        self._message = message

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != self._message


def _cause(exc: BaseException) -> str:
    """The innermost message: amqtt's own is "Broker instance can't be started: ..."."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def __getattr__(name: str) -> type[Any]:
    # amqtt loads plugins by dotted path; the class is built on first use so that importing
    # this module needs no amqtt.
    if name == "OpenAuth":
        return _open_auth()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _open_auth() -> type[Any]:
    from amqtt.plugins.base import BaseAuthPlugin

    class OpenAuth(BaseAuthPlugin):  # type: ignore[misc]  # amqtt ships no type hints
        """Accept every client, keeping its session persistent if it asked for one."""

        @dataclass
        class Config:
            pass

        async def authenticate(self, *, session: Any) -> bool:
            return True

    OpenAuth.__module__ = __name__
    return OpenAuth
