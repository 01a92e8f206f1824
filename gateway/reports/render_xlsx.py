"""The monthly report as an Excel workbook, built in memory.

Sheets: 汇总 (the title block, then the whole site and each district: the figures of the
police monthly statistics form), 学校 (a row per school, every figure) and 4个100% (each
school's indicators, grouped by district with the district's count of schools meeting each).
Numbers are stored as numbers; a rate is the fraction cut to one decimal of a percent with a
percent format (so it reads as in the CSV and the PDF); "—" is text where nothing applies.
No cell is a formula: openpyxl stores text beginning with "=" as one, so every text cell is
given the string type, and text a spreadsheet would run once edited (beginning with "=",
"+", "-", "@", a tab or a CR: `gateway.reports.formulas`) is marked quote-prefixed, as
Excel marks what is typed after a "'". It reads as given.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from gateway.reports.formulas import looks_like_formula
from gateway.reports.labels import (
    AREA_NUMBER_COLUMNS,
    AUDIT_TITLE,
    DISTRICT_TITLE,
    FOUR_100,
    GENERATED_TITLE,
    INDICATOR_COLUMNS,
    LEVEL_TITLE,
    MONTH_TITLE,
    NO,
    NOT_APPLICABLE,
    SCHOOL_COLUMNS,
    SCHOOL_ID_TITLE,
    SCHOOL_NAME_TITLE,
    TIMEZONE_TITLE,
    YES,
    Cell,
    CellKind,
    Column,
    RowLevel,
    area_cell,
    areas_in_order,
    district_text,
    generated_local_text,
    level_text,
    rate_number,
    report_title,
    school_cell,
    schools_in_order,
)
from gateway.reports.model import MonthlyReport, Ratio

__all__ = ["FOUR_100_SHEET", "SCHOOLS_SHEET", "SUMMARY_SHEET", "render_xlsx"]

SUMMARY_SHEET = "汇总"
SCHOOLS_SHEET = "学校"
FOUR_100_SHEET = FOUR_100.title
SUBTOTAL_TEXT = "小计"
TOTAL_TEXT = "合计"

PERCENT_FORMAT = "0.0%"
DECIMAL_FORMAT = "0.0"
COUNT_FORMAT = "0"
MIN_WIDTH, MAX_WIDTH = 6, 40

Value = str | int | float


def render_xlsx(report: MonthlyReport) -> bytes:
    workbook = Workbook()
    workbook.properties.title = report_title(report)
    workbook.properties.creator = "campus-gateway"
    for blank in list(workbook.worksheets):  # the default "Sheet"
        workbook.remove(blank)
    _write_summary(workbook.create_sheet(SUMMARY_SHEET), report)
    _write_schools(workbook.create_sheet(SCHOOLS_SHEET), report)
    _write_four_100(workbook.create_sheet(FOUR_100_SHEET), report)
    for sheet in workbook.worksheets:
        _no_formulas(sheet)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _write_summary(sheet: Worksheet, report: MonthlyReport) -> None:
    sheet.append([report_title(report)])
    sheet.cell(1, 1).font = Font(bold=True, size=14)
    sheet.append([MONTH_TITLE, report.month])
    sheet.append([TIMEZONE_TITLE, report.timezone])
    sheet.append([GENERATED_TITLE, generated_local_text(report)])
    if report.audit_head is not None:  # the full hash: a later `audit verify` compares it
        sheet.append([AUDIT_TITLE, report.audit_head.seq, report.audit_head.hash])
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, 1).font = Font(bold=True)
    header_row = sheet.max_row + 2  # a blank row between the title block and the table
    columns = AREA_NUMBER_COLUMNS
    rows: list[list[tuple[Value, str | None]]] = []
    for level, area in areas_in_order(report):
        district = district_text(area.district) if level is RowLevel.DISTRICT else ""
        identity: list[tuple[Value, str | None]] = [
            (level_text(level, report), None),
            (district, None),
        ]
        rows.append(identity + [_excel(c.kind, area_cell(c, area)) for c in columns])
    _write_table(sheet, header_row, [LEVEL_TITLE, DISTRICT_TITLE, *_titles(columns)], rows)
    for cell in sheet[header_row + 1]:  # the whole site's row
        cell.font = Font(bold=True)
    sheet.freeze_panes = f"C{header_row + 1}"
    _fit_widths(sheet, header_row)


def _write_schools(sheet: Worksheet, report: MonthlyReport) -> None:
    columns = SCHOOL_COLUMNS
    rows = [
        [
            (district_text(school.district), None),
            (school.school_id, None),
            (school.school_name, None),
            *(_excel(c.kind, school_cell(c, school)) for c in columns),
        ]
        for school in schools_in_order(report)
    ]
    titles = [DISTRICT_TITLE, SCHOOL_ID_TITLE, SCHOOL_NAME_TITLE, *_titles(columns)]
    _write_table(sheet, 1, titles, rows)
    sheet.freeze_panes = "D2"
    _fit_widths(sheet, 1)


def _write_four_100(sheet: Worksheet, report: MonthlyReport) -> None:
    """Each district's schools, then the district's subtotal (schools meeting of schools,
    stored as the count with the "/N所" in its number format); the whole site last."""
    rows: list[list[tuple[Value, str | None]]] = []
    subtotal_rows: list[int] = []
    areas = {area.district: area for area in report.districts}
    schools = schools_in_order(report)
    for index, school in enumerate(schools):
        rows.append(
            [
                (district_text(school.district), None),
                (school.school_id, None),
                (school.school_name, None),
                *(_excel(c.kind, school_cell(c, school)) for c in INDICATOR_COLUMNS),
            ]
        )
        last_of_district = index + 1 == len(schools) or schools[index + 1].district != (
            school.district
        )
        area = areas.get(school.district) if school.district is not None else None
        if last_of_district and area is not None:
            label = f"{SUBTOTAL_TEXT}（{area.schools}所）"
            rows.append(
                [(district_text(area.district), None), ("", None), (label, None)]
                + [_schools_meeting(area_cell(c, area)) for c in INDICATOR_COLUMNS]
            )
            subtotal_rows.append(len(rows) + 1)
    total = report.total
    rows.append(
        [
            (level_text(RowLevel.SITE, report), None),
            ("", None),
            (f"{TOTAL_TEXT}（{total.schools}所）", None),
        ]
        + [_schools_meeting(area_cell(c, total)) for c in INDICATOR_COLUMNS]
    )
    subtotal_rows.append(len(rows) + 1)
    titles = [DISTRICT_TITLE, SCHOOL_ID_TITLE, SCHOOL_NAME_TITLE, *_titles(INDICATOR_COLUMNS)]
    _write_table(sheet, 1, titles, rows)
    for row in subtotal_rows:
        for cell in sheet[row]:
            cell.font = Font(bold=True)
    sheet.freeze_panes = "D2"
    _fit_widths(sheet, 1)


def _titles(columns: Sequence[Column]) -> list[str]:
    return [column.title for column in columns]


def _excel(kind: CellKind, value: Cell) -> tuple[Value, str | None]:
    """A value as a cell: the number (or text) and its number format."""
    if isinstance(value, bool):
        return (YES if value else NO), None
    if isinstance(value, Ratio):
        if kind is CellKind.INDICATOR:
            return _schools_meeting(value)
        rate = rate_number(value)
        return (NOT_APPLICABLE, None) if rate is None else (rate, PERCENT_FORMAT)
    if value is None:
        return NOT_APPLICABLE, None
    if isinstance(value, str):
        return value, None
    if kind is CellKind.DECIMAL:
        return float(value), DECIMAL_FORMAT
    return value, COUNT_FORMAT


def _schools_meeting(value: Cell) -> tuple[Value, str | None]:
    """An area's indicator: the number of schools meeting it, shown as "3/4所"."""
    if isinstance(value, Ratio):
        if value.required == 0:
            return NOT_APPLICABLE, None
        return value.done, f'0"/{value.required}所"'
    if isinstance(value, bool):  # the area's 4个100%: every indicator complete
        return (YES if value else NO), None
    return NOT_APPLICABLE, None


_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")
_HEADER_BORDER = Border(bottom=Side(style="thin"))
_HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
_CENTERED = Alignment(horizontal="center")


def _write_table(
    sheet: Worksheet,
    header_row: int,
    titles: Sequence[str],
    rows: Sequence[Sequence[tuple[Value, str | None]]],
) -> None:
    for column, title in enumerate(titles, start=1):
        cell = sheet.cell(header_row, column, title)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.border = _HEADER_BORDER
        cell.alignment = _HEADER_ALIGNMENT
    sheet.row_dimensions[header_row].height = 32  # two lines of a wrapped title
    for offset, row in enumerate(rows, start=1):
        for column, (value, number_format) in enumerate(row, start=1):
            cell = sheet.cell(header_row + offset, column, value)
            if number_format is not None:
                cell.number_format = number_format
            elif value in (NOT_APPLICABLE, YES, NO):
                cell.alignment = _CENTERED
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.page_setup.orientation = "landscape"


def _no_formulas(sheet: Worksheet) -> None:
    """Every text cell as text (the renderers write no formula): openpyxl took a value
    beginning with "=" for a formula when it was set."""
    for row in sheet.iter_rows():
        for cell in row:
            if not isinstance(cell.value, str):
                continue
            cell.data_type = "s"
            if looks_like_formula(cell.value):
                cell.quotePrefix = True


def _fit_widths(sheet: Worksheet, header_row: int) -> None:
    """Wide enough for the values and for the title on two lines; CJK characters count
    double."""
    widths: dict[int, int] = {}
    for row in sheet.iter_rows(min_row=header_row):
        for cell in row:
            if cell.value is None:
                continue
            width = _display_width(_shown(cell.value, cell.number_format))
            if cell.row == header_row:
                width = (width + 1) // 2 + 1
            widths[cell.column] = max(widths.get(cell.column, 0), width + 2)
    for column, width in widths.items():
        letter = get_column_letter(column)
        sheet.column_dimensions[letter].width = min(max(width, MIN_WIDTH), MAX_WIDTH)


def _shown(value: object, number_format: str) -> str:
    if isinstance(value, float) and number_format == PERCENT_FORMAT:
        return f"{value * 100:.1f}%"
    if isinstance(value, int) and "所" in number_format:
        return f"{value}/000所"
    return str(value)


def _display_width(text: str) -> int:
    return sum(2 if ord(character) >= 0x2E80 else 1 for character in text)
