"""The monthly report (spec 1: monthly statistics, the "4个100%" indicators):
`GET /api/v1/reports/monthly?month=YYYY-MM&format=json|csv|xlsx|pdf`. Every request is an
export on record in the audit log (who took which month in which format)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from gateway.api.deps import Context, DbSession, require_roles, unprocessable, visible_schools
from gateway.api.report_schemas import MonthlyReportOut
from gateway.audit.actions import record_user_action
from gateway.auth.tokens import Principal
from gateway.domain import Role
from gateway.reports.figures import monthly_report
from gateway.reports.formats import (
    EXPORT_ACTION,
    MEDIA_TYPES,
    ReportFormat,
    export_subject,
    file_name,
    render_report,
)
from gateway.reports.period import InvalidPeriod, latest_complete_day

router = APIRouter(prefix="/reports", tags=["reports"])

ReportReader = Annotated[Principal, Depends(require_roles(Role.POLICE, Role.INSPECTOR))]

FILE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The report: JSON, or a file to download",
        "content": {MEDIA_TYPES[f]: {} for f in ReportFormat if f is not ReportFormat.JSON},
    }
}


@router.get("/monthly", response_model=MonthlyReportOut, responses=FILE_RESPONSES)
async def monthly(
    principal: ReportReader,
    context: Context,
    session: DbSession,
    month: Annotated[
        str | None,
        Query(
            description="Local month YYYY-MM (default: the month of yesterday, the last "
            "complete day); the current month counts its complete days"
        ),
    ] = None,
    report_format: Annotated[
        ReportFormat, Query(alias="format", description="json (default), csv, xlsx or pdf")
    ] = ReportFormat.JSON,
) -> Response | MonthlyReportOut:
    """Per school you may see, per district and for them all: guards, gate-days staffed around the
    clock, key checkpoint-days patrolled enough, buttons tested, emergencies and the police
    response, hidden dangers, and the "4个100%" indicators. Definitions: docs/reports.md."""
    settings = context.settings
    zone = settings.gateway.zone
    now = datetime.now(UTC)
    asked = month or f"{latest_complete_day(zone, now):%Y-%m}"
    try:
        report = await monthly_report(
            session,
            settings,
            asked,
            now=now,
            # The schools the caller sees, and the district totals over them only.
            school_ids=visible_schools(principal, settings, None),
        )
    except InvalidPeriod as exc:
        raise unprocessable(("query", "month"), str(exc)) from exc
    # Rendered before the export is recorded: a file that could not be made was not taken.
    body = None
    if report_format is not ReportFormat.JSON:
        body = await asyncio.to_thread(render_report, report, report_format)
    await record_user_action(
        session,
        username=principal.username,
        role=principal.role.value,
        action=EXPORT_ACTION,
        subject=export_subject(report.month, report_format),
    )
    await session.commit()
    if body is None:
        return MonthlyReportOut.of(report)
    name = file_name(report.month, report_format)
    return Response(
        content=body,
        media_type=MEDIA_TYPES[report_format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
