"""An httpx transport that calls an ASGI app in-process and returns the response as soon as
its status line is sent, the body following as the app sends it.

httpx's own `ASGITransport` waits for the whole body, so a request to a server-sent events
route (which never ends) hangs the test. With this one, `client.stream(...)` gives the status
and headers at once; closing the response tells the app the client has gone, as a browser
closing the page would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from contextlib import suppress
from typing import Any

import httpx
from starlette.types import ASGIApp

# How long a closed response's app may take to notice the client went before it is cancelled.
CLOSE_TIMEOUT_S = 5.0


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, chunks: asyncio.Queue[bytes | None], app: asyncio.Task[None], gone: asyncio.Event
    ) -> None:
        self._chunks = chunks
        self._app = app
        self._gone = gone

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (chunk := await self._chunks.get()) is not None:
            yield chunk

    async def aclose(self) -> None:
        self._gone.set()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                # Re-raises what the app raised after it sent its (500) response.
                await asyncio.shield(self._app)
        except TimeoutError:
            self._app.cancel()
            with suppress(asyncio.CancelledError):
                await self._app


class StreamingASGITransport(httpx.AsyncBaseTransport):
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},  # spec 2.0 (the default): the app listens for disconnect
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port),
            "client": ("127.0.0.1", 123),
            "root_path": "",
        }
        body = request.stream.__aiter__()
        body_sent = False
        gone = asyncio.Event()
        started = asyncio.Event()
        start: dict[str, Any] = {}
        chunks: asyncio.Queue[bytes | None] = asyncio.Queue()

        async def receive() -> dict[str, Any]:
            nonlocal body_sent
            if body_sent:
                await gone.wait()
                return {"type": "http.disconnect"}
            try:
                chunk = await body.__anext__()
            except StopAsyncIteration:
                body_sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                started.set()
            elif message["type"] == "http.response.body":
                if message.get("body"):
                    chunks.put_nowait(message["body"])
                if not message.get("more_body", False):
                    chunks.put_nowait(None)

        async def call() -> None:
            try:
                await self.app(scope, receive, send)
            finally:
                chunks.put_nowait(None)  # a body cut short by an error ends all the same

        app = asyncio.create_task(call(), name="asgi-request")
        waiting = asyncio.create_task(started.wait())
        await asyncio.wait({app, waiting}, return_when=asyncio.FIRST_COMPLETED)
        if not started.is_set():
            waiting.cancel()
            app.result()  # the app's own error, if it raised before answering
            raise AssertionError(f"{request.method} {request.url} ended without a response")
        return httpx.Response(
            start["status"], headers=start.get("headers", []), stream=_Body(chunks, app, gone)
        )
