"""The monthly report as one CSV table: the whole site, each district, then each school.

UTF-8 with a byte-order mark, which Excel needs to read it as UTF-8 rather than GBK; one
header row of Chinese titles (`labels`); a figure an area does not have (a school's day
pupils, an area's overdue hazards) is an empty cell, a value that does not apply is "—".
Rates are numbers of percent without the sign ("93.5"; the title says "（%）"). Text that
a spreadsheet would run as a formula (a name beginning with "=", "+", "-", "@", a tab or a
CR) has a leading "'" (`gateway.reports.formulas`); numbers are written as they are.
"""

from __future__ import annotations

import csv
import io

from gateway.reports.formulas import csv_text
from gateway.reports.labels import (
    FIGURE_COLUMNS,
    IDENTITY_TITLES,
    LEVEL_TEXT,
    Cell,
    CellKind,
    RowLevel,
    areas_in_order,
    cell_text,
    district_text,
    level_text,
    schools_in_order,
)
from gateway.reports.model import AreaMonth, MonthlyReport, SchoolMonth

__all__ = ["render_csv"]

BOM = "\ufeff"


def render_csv(report: MonthlyReport) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180, what Excel writes
    writer.writerow([*IDENTITY_TITLES, *(c.title for c in FIGURE_COLUMNS)])
    for level, area in areas_in_order(report):
        writer.writerow(_area_row(level_text(level, report), level, area))
    for school in schools_in_order(report):
        writer.writerow(_school_row(school))
    return (BOM + buffer.getvalue()).encode("utf-8")


def _area_row(name: str, level: RowLevel, area: AreaMonth) -> list[str]:
    district = district_text(area.district) if level is RowLevel.DISTRICT else ""
    figures = [
        "" if column.of_area is None else _figure(column.kind, column.of_area(area))
        for column in FIGURE_COLUMNS
    ]
    return [csv_text(name), csv_text(district), "", "", *figures]


def _school_row(school: SchoolMonth) -> list[str]:
    figures = [
        "" if column.of_school is None else _figure(column.kind, column.of_school(school))
        for column in FIGURE_COLUMNS
    ]
    return [
        LEVEL_TEXT[RowLevel.SCHOOL],
        csv_text(district_text(school.district)),
        csv_text(school.school_id),
        csv_text(school.school_name),
        *figures,
    ]


def _figure(kind: CellKind, value: Cell) -> str:
    """A figure's text; a figure that is text (not a number the report computed) is made
    safe like a name."""
    text = cell_text(kind, value, percent_sign=False)
    return csv_text(text) if isinstance(value, str) else text
