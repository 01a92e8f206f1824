"""Liveness, readiness and metrics (spec section 5). Open, like any Prometheus target."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from gateway.context import GatewayContext

router = APIRouter(tags=["health"])
DATABASE_CHECK_TIMEOUT_S = 2.0


def _context(request: Request) -> GatewayContext:
    context: GatewayContext = request.app.state.context
    return context


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


READINESS = {
    "description": "`ready`, and per check (database, brokers, police links) `up` and `detail`",
    "content": {"application/json": {}},
}
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/readyz", responses={200: READINESS, 503: READINESS})
async def readyz(request: Request) -> JSONResponse:
    """Database, broker and police links up: 200, otherwise 503 with what is down."""
    context = _context(request)
    checks: dict[str, dict[str, Any]] = {}
    try:
        async with asyncio.timeout(DATABASE_CHECK_TIMEOUT_S), context.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = {"up": True, "detail": "answers"}
    except Exception as exc:  # any driver error or the timeout: not ready
        checks["database"] = {"up": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    for name, state in context.health.snapshot().items():
        if name == "database":
            # A database that answers SELECT 1 may still refuse writes (a full disk): the
            # writers' last word counts too, until a write succeeds again.
            if not state.up and checks["database"]["up"]:
                checks["database"] = {
                    "up": False,
                    "detail": f"writes fail: {state.detail}"[:300],
                    "since": state.since.isoformat(),
                }
            continue
        checks[name] = {"up": state.up, "detail": state.detail, "since": state.since.isoformat()}
    ready = all(check["up"] for check in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "the Prometheus text format", "content": {PROMETHEUS_TEXT: {}}}
    },
)
async def metrics(request: Request) -> Response:
    return Response(_context(request).metrics.render(), media_type=PROMETHEUS_TEXT)
