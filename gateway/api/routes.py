"""The REST API under /api/v1 (spec section 5), documented at /docs."""

from __future__ import annotations

from fastapi import APIRouter

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


def build_api_router() -> APIRouter:
    """A new router each call: nothing is built at import time."""
    api = APIRouter(prefix="/api/v1")
    api.include_router(auth_routes.router)
    api.include_router(alarms.router)
    api.include_router(gates.router)
    api.include_router(compliance.router)
    api.include_router(compliance_periods.router)
    api.include_router(patrols.router)
    api.include_router(alarm_tests.router)
    api.include_router(guards.router)
    api.include_router(hazards.router)
    api.include_router(reports.router)
    api.include_router(audit.router)
    api.include_router(live.router)
    return api
