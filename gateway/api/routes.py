"""The REST API under /api/v1 (spec section 5), documented at /docs."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from gateway.api import (
    alarm_tests,
    alarms,
    audit,
    auth_routes,
    compliance,
    compliance_periods,
    gates,
    guards,
    hazards,
    live,
    patrols,
    reports,
)
from gateway.api.error_responses import SIGNED_IN
from gateway.api.request_text import refuse_unsafe_text


def build_api_router() -> APIRouter:
    """A new router each call: nothing is built at import time."""
    # Paths, queries and forms held to the rule of request bodies (gateway/api/request_text.py).
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(refuse_unsafe_text)])
    api.include_router(auth_routes.router)
    api.include_router(alarms.router, responses=SIGNED_IN)
    api.include_router(gates.router, responses=SIGNED_IN)
    api.include_router(compliance.router, responses=SIGNED_IN)
    api.include_router(compliance_periods.router, responses=SIGNED_IN)
    api.include_router(patrols.router, responses=SIGNED_IN)
    api.include_router(alarm_tests.router, responses=SIGNED_IN)
    api.include_router(guards.router, responses=SIGNED_IN)
    api.include_router(hazards.router, responses=SIGNED_IN)
    api.include_router(reports.router, responses=SIGNED_IN)
    api.include_router(audit.router, responses=SIGNED_IN)
    api.include_router(live.router, responses=SIGNED_IN)
    return api
