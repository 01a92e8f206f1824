"""`campus-gateway run`: the app under uvicorn; a runtime failure stops the process
(non-zero exit) so that systemd or Docker restarts it."""

from __future__ import annotations

import uvicorn

from gateway.app import create_app
from gateway.context import close_context, open_context
from gateway.errors import GatewayError
from gateway.settings import Settings


class RuntimeStopped(GatewayError):
    pass


async def serve(settings: Settings) -> None:
    # Open the database first: a wrong URL or a missing folder is one clear line, not a
    # traceback from inside the web server's start-up.
    context = await open_context(settings)
    await close_context(context)
    failures: list[BaseException] = []
    server: uvicorn.Server | None = None

    def on_fatal(exc: BaseException) -> None:
        failures.append(exc)
        if server is not None:
            server.should_exit = True

    app = create_app(settings, on_fatal=on_fatal)
    config = uvicorn.Config(
        app,
        host=settings.gateway.http_host,
        port=settings.gateway.http_port,
        log_level="info",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    await server.serve()
    if not server.started and not failures:
        raise RuntimeStopped("the gateway did not start (see the messages above)")
    if failures:
        raise RuntimeStopped(f"the runtime stopped: {failures[0]}") from failures[0]
