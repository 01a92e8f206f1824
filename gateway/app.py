"""The FastAPI application. Everything is built in `create_app`/the lifespan, nothing at import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from gateway import __version__
from gateway.api.health import router as health_router
from gateway.api.routes import build_api_router
from gateway.api.validation_errors import validation_error_answer
from gateway.auth.login_limit import LoginLimiter
from gateway.context import close_context, open_context
from gateway.runtime import GatewayRuntime
from gateway.security_headers import SecurityHeaders
from gateway.settings import Settings
from gateway.web.pages import STATIC, build_pages_router

log = logging.getLogger("gateway.app")


def create_app(
    settings: Settings,
    *,
    run_runtime: bool = True,
    on_fatal: Callable[[BaseException], None] | None = None,
) -> FastAPI:
    """`run_runtime=False` serves the API and pages only (no MQTT, no outbox): for tools and
    tests of the HTTP side. `on_fatal` is told if the runtime stops on an unexpected error."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = await open_context(settings)
        app.state.context = context
        runtime_task: asyncio.Task[None] | None = None
        if run_runtime:
            runtime = GatewayRuntime(context)
            app.state.runtime = runtime
            runtime_task = asyncio.create_task(_guard(runtime, on_fatal), name="gateway-runtime")
        try:
            yield
        finally:
            if runtime_task is not None:
                runtime_task.cancel()
                with suppress(asyncio.CancelledError):
                    await runtime_task
            await close_context(context)

    app = FastAPI(
        title="Campus security gateway",
        version=__version__,
        description="护校安园 gateway: alarms to the police, gate staffing, patrols, compliance.",
        lifespan=lifespan,
    )
    # In memory, one per app: a restart forgets the counts, which only ends lockouts early.
    app.state.login_limiter = LoginLimiter()
    app.include_router(health_router)
    app.include_router(build_api_router())
    app.include_router(build_pages_router())
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # A 422 that echoes a lone surrogate must still be sent (gateway/api/validation_errors.py).
    app.add_exception_handler(RequestValidationError, validation_error_answer)
    app.add_middleware(SecurityHeaders)
    return app


async def _guard(runtime: GatewayRuntime, on_fatal: Callable[[BaseException], None] | None) -> None:
    try:
        await runtime.run()
    except asyncio.CancelledError:
        raise
    except BaseException as exc:
        log.critical("the gateway runtime stopped: %s", exc, exc_info=True)
        runtime.context.health.report("runtime", up=False, detail=str(exc))
        if on_fatal is not None:
            on_fatal(exc)
