"""Serving a simulator's ASGI app (police centre, camera) until cancelled, on a socket bound
by us: uvicorn calls sys.exit() when it cannot bind, we raise a readable ConfigError."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from gateway.errors import ConfigError


def listen(host: str, port: int, what: str) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one, see getsockname())."""
    sock: socket.socket | None = None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        if sock is not None:
            sock.close()
        raise ConfigError([f"{what} {host}:{port}: cannot listen ({exc})"]) from exc
    return sock


class _Server(uvicorn.Server):
    """Sets `ready` once uvicorn's listeners are up (uvicorn only offers a flag to poll)."""

    def __init__(self, config: uvicorn.Config, ready: asyncio.Event | None) -> None:
        super().__init__(config)
        self._ready = ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._ready is not None:
            self._ready.set()


async def serve_asgi(
    app: Any, sock: socket.socket, *, name: str, ready: asyncio.Event | None = None
) -> None:
    """Serve `app` on `sock` until cancelled, then stop gracefully (at most 2 s, so that a
    request held on purpose does not hold up a stop). The caller closes `sock`."""
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=2)
    server = _Server(config, ready)
    serving = asyncio.create_task(server.serve(sockets=[sock]), name=name)
    try:
        await asyncio.wait({serving})  # unlike `await`, does not cancel it with us
    except asyncio.CancelledError:
        server.should_exit = True  # graceful stop: close the listener and connections
        await asyncio.wait({serving})
        raise
    serving.result()
