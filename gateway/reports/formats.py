"""The monthly report's file formats: one table of media type, file name and renderer, so
the API's downloads and the CLI's files are the same bytes under the same names."""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from gateway.reports.model import MonthlyReport

__all__ = [
    "EXPORT_ACTION",
    "MEDIA_TYPES",
    "ReportFormat",
    "export_subject",
    "file_name",
    "render_report",
]

# How an export is named in the audit log (`user_actions`), from the API or the CLI alike.
EXPORT_ACTION = "report.export"


class ReportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"
    PDF = "pdf"


MEDIA_TYPES: dict[ReportFormat, str] = {
    ReportFormat.JSON: "application/json",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.PDF: "application/pdf",
}


def file_name(month: str, report_format: ReportFormat) -> str:
    return f"campus-report-{month}.{report_format.value}"


def export_subject(month: str, report_format: ReportFormat) -> str:
    return f"monthly:{month}:{report_format.value}"


def _renderer(report_format: ReportFormat) -> Callable[[MonthlyReport], bytes]:
    # Imported when asked for: reportlab and openpyxl are slow to load and most requests
    # want one format.
    if report_format is ReportFormat.JSON:
        from gateway.api.report_schemas import report_json

        return report_json
    if report_format is ReportFormat.CSV:
        from gateway.reports.render_csv import render_csv

        return render_csv
    if report_format is ReportFormat.XLSX:
        from gateway.reports.render_xlsx import render_xlsx

        return render_xlsx
    from gateway.reports.render_pdf import render_pdf

    return render_pdf


def render_report(report: MonthlyReport, report_format: ReportFormat) -> bytes:
    """The report as a file of `report_format` (CPU work: run it off the event loop)."""
    return _renderer(report_format)(report)
