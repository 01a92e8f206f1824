"""The monthly report as a PDF for print and for the record: A4 landscape, the title and the
report's month, the whole site and each district, the "4个100%", then one row per school.

Chinese is real text in reportlab's built-in CID font STSong-Light (every PDF reader has it:
no font file to ship, and the text stays searchable and extractable). Long tables break
across pages with their header row repeated; each page's footer has its number of the total
and the tamper-evident log's head the report was made at.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape  # Paragraph text is markup

from reportlab.lib import colors  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4, landscape  # type: ignore[import-untyped]
from reportlab.lib.styles import ParagraphStyle  # type: ignore[import-untyped]
from reportlab.lib.units import mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]
from reportlab.platypus import (  # type: ignore[import-untyped]
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from gateway.reports.labels import (
    COMPACT_FIGURES,
    DISTRICT_TITLE,
    FOUR_100,
    FOUR_100_TITLE,
    GENERATED_TITLE,
    HAZARDS_OVERDUE,
    INDICATOR_COLUMNS,
    MONTH_TITLE,
    SCHOOLS,
    TIMEZONE_TITLE,
    Cell,
    CellKind,
    Column,
    RowLevel,
    area_cell,
    areas_in_order,
    audit_head_text,
    cell_text,
    district_text,
    generated_local_text,
    level_text,
    percent_text,
    report_title,
    school_cell,
    schools_in_order,
)
from gateway.reports.model import INDICATOR_TEXT, Indicator, MonthlyReport, Ratio, SchoolMonth

__all__ = ["render_pdf"]

PDF_FONT = "STSong-Light"  # as gateway.commands.checkpoints: a CID font, nothing to embed
PAGE = landscape(A4)
MARGIN = 12 * mm
FOOTER_Y = 7 * mm
TABLE_FONT_PT = 7.5
HEADER_FONT_PT = 7.0
# Column widths in points by what a column holds; the name column takes what is left.
# A count's five-character title ("专职保安员") fits on one line.
KIND_WIDTH = {
    CellKind.COUNT: 42.0,
    CellKind.DECIMAL: 46.0,
    CellKind.FRACTION: 64.0,
    CellKind.RATE: 46.0,
    CellKind.INDICATOR: 48.0,
}
DISTRICT_WIDTH = 52.0
CELL_PADDING = 3.0

SECTION_AREAS = "一、全市及各区县"
PARTIAL_SECTION_AREAS = "一、合计及各区县"  # a report of the schools an account sees
SECTION_FOUR_100 = f"二、{FOUR_100_TITLE}"
SECTION_SCHOOLS = "三、各学校"
SCHOOL_TITLE = "学校"
MISSING_TITLE = "未达到的指标"
NOT_MEETING_TITLE = f"未达到{FOUR_100_TITLE}的学校"
ALL_MEETING_TEXT = f"全部学校均达到{FOUR_100_TITLE}。"
NO_SCHOOLS_TEXT = "本月没有学校数据。"
SCHOOL_COUNT_TITLE = "学校"

AREA_TABLE_COLUMNS: tuple[Column, ...] = (SCHOOLS, *COMPACT_FIGURES, FOUR_100)
SCHOOL_TABLE_COLUMNS: tuple[Column, ...] = (*COMPACT_FIGURES, HAZARDS_OVERDUE, FOUR_100)


def render_pdf(report: MonthlyReport) -> bytes:
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    styles = _Styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=report_title(report),
        author="campus-gateway",
    )
    story: list[Any] = [
        Paragraph(report_title(report), styles.title),
        Paragraph(_header_line(report), styles.body),
        Spacer(1, 4 * mm),
        Paragraph(PARTIAL_SECTION_AREAS if report.partial else SECTION_AREAS, styles.heading),
        _area_table(report, styles, document.width),
        Paragraph(SECTION_FOUR_100, styles.heading),
        _four_100_table(report, styles, document.width),
        *_not_meeting(report, styles, document.width),
        Paragraph(SECTION_SCHOOLS, styles.heading),
    ]
    if report.schools:
        story.append(_school_table(report, styles, document.width))
    else:
        story.append(Paragraph(NO_SCHOOLS_TEXT, styles.body))
    footer = _Footer(report_title(report), audit_head_text(report.audit_head))
    document.build(story, canvasmaker=footer.canvas_class())
    return buffer.getvalue()


class _Styles:
    def __init__(self) -> None:
        def style(name: str, size: float, **extra: Any) -> Any:
            leading = size * 1.3
            return ParagraphStyle(
                name, fontName=PDF_FONT, fontSize=size, leading=leading, wordWrap="CJK", **extra
            )

        self.title = style("title", 18, alignment=1, spaceAfter=6)
        self.heading = style("heading", 12, spaceBefore=8, spaceAfter=4)
        self.body = style("body", 9, alignment=1)
        self.header_cell = style("header", HEADER_FONT_PT, alignment=1)
        self.cell = style("cell", TABLE_FONT_PT)
        self.centered_cell = style("centered", TABLE_FONT_PT, alignment=1)


def _header_line(report: MonthlyReport) -> str:
    parts = [
        f"{MONTH_TITLE} {report.month}",
        f"{TIMEZONE_TITLE} {report.timezone}",
        f"{GENERATED_TITLE} {generated_local_text(report)}",
        f"{SCHOOL_COUNT_TITLE} {len(report.schools)} 所",
    ]
    return "\u3000".join(parts)  # ideographic spaces: the font lacks U+00B7


def _widths(columns: Sequence[Column], leading: int, available: float) -> list[float]:
    """`leading` text columns first: the last of them takes the width left over."""
    fixed = [KIND_WIDTH.get(column.kind, 48.0) for column in columns]
    lead = [DISTRICT_WIDTH] * (leading - 1)
    return [*lead, available - sum(lead) - sum(fixed), *fixed]


def _header(titles: Sequence[str], styles: _Styles) -> list[Any]:
    return [Paragraph(title, styles.header_cell) for title in titles]


def _area_name_title(report: MonthlyReport) -> str:
    return f"{level_text(RowLevel.SITE, report)}/区县"


def _area_table(report: MonthlyReport, styles: _Styles, width: float) -> Any:
    columns = AREA_TABLE_COLUMNS
    titles = [_area_name_title(report), *(c.title for c in columns)]
    rows: list[list[Any]] = [_header(titles, styles)]
    for level, area in areas_in_order(report):
        name = level_text(level, report) if level is RowLevel.SITE else district_text(area.district)
        rows.append([name, *(cell_text(c.kind, area_cell(c, area)) for c in columns)])
    return _table(rows, _widths(columns, 1, width), styles, highlighted=(1,))


def _four_100_table(report: MonthlyReport, styles: _Styles, width: float) -> Any:
    titles = [_area_name_title(report), SCHOOLS.title, *(c.title for c in INDICATOR_COLUMNS)]
    rows: list[list[Any]] = [_header(titles, styles)]
    for level, area in areas_in_order(report):
        name = level_text(level, report) if level is RowLevel.SITE else district_text(area.district)
        cells = [_meeting_text(area_cell(c, area), c) for c in INDICATOR_COLUMNS]
        rows.append([name, str(area.schools), *cells])
    indicator_width = (width - DISTRICT_WIDTH * 2) / len(INDICATOR_COLUMNS)
    widths = [DISTRICT_WIDTH * 1.5, DISTRICT_WIDTH / 2] + [indicator_width] * len(INDICATOR_COLUMNS)
    return _table(rows, widths, styles, highlighted=(1,))


def _meeting_text(value: Cell, column: Column) -> str:
    """Schools meeting of schools and the rate: "3/4所 75.0%"."""
    text = cell_text(column.kind, value)
    if isinstance(value, Ratio) and value.required:
        return f"{text} {percent_text(value)}"
    return text


def _not_meeting(report: MonthlyReport, styles: _Styles, width: float) -> list[Any]:
    if not report.schools:
        return []
    failing = [s for s in schools_in_order(report) if not s.four_100]
    if not failing:
        return [Spacer(1, 2 * mm), Paragraph(ALL_MEETING_TEXT, styles.body)]
    rows: list[list[Any]] = [_header([DISTRICT_TITLE, SCHOOL_TITLE, MISSING_TITLE], styles)]
    for school in failing:
        missing = "、".join(INDICATOR_TEXT[i] for i in _missing(school))
        rows.append(
            [
                district_text(school.district),
                Paragraph(escape(school.school_name), styles.cell),
                Paragraph(missing, styles.cell),
            ]
        )
    widths = [DISTRICT_WIDTH, width * 0.3, width * 0.7 - DISTRICT_WIDTH]
    return [
        Spacer(1, 3 * mm),
        Paragraph(NOT_MEETING_TITLE, styles.body),
        _table(rows, widths, styles),
    ]


def _missing(school: SchoolMonth) -> list[Indicator]:
    return [i for i in Indicator if not school.indicators.get(i, False)]


def _school_table(report: MonthlyReport, styles: _Styles, width: float) -> Any:
    columns = SCHOOL_TABLE_COLUMNS
    titles = [DISTRICT_TITLE, SCHOOL_TITLE, *(c.title for c in columns)]
    rows: list[list[Any]] = [_header(titles, styles)]
    for school in schools_in_order(report):
        name = Paragraph(
            f"{escape(school.school_name)}<br/>{escape(school.school_id)}", styles.cell
        )
        cells = [cell_text(c.kind, school_cell(c, school)) for c in columns]
        rows.append([district_text(school.district), name, *cells])
    return _table(rows, _widths(columns, 2, width), styles)


def _table(
    rows: list[list[Any]],
    widths: list[float],
    styles: _Styles,
    highlighted: Sequence[int] = (),
) -> Any:
    fitted = [
        [
            _fitted(cell, column, width, styles)
            for column, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        for row in rows
    ]
    table = Table(fitted, colWidths=widths, repeatRows=1)
    commands: list[tuple[Any, ...]] = [
        ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
        ("FONTSIZE", (0, 0), (-1, -1), TABLE_FONT_PT),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("ALIGN", (2, 1), (-1, -1), "CENTER"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#DDE5F0")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#F5F7FA")]),
    ]
    commands += [("BACKGROUND", (0, r), (-1, r), colors.HexColor("#FFF4D6")) for r in highlighted]
    table.setStyle(TableStyle(commands))
    return table


def _fitted(cell: Any, column: int, width: float, styles: _Styles) -> Any:
    """A text too wide for its column becomes a paragraph, which wraps (at spaces, and
    between Chinese characters): a long district name, a site's 155000/155000 100.0%."""
    if not isinstance(cell, str):
        return cell
    if pdfmetrics.stringWidth(cell, PDF_FONT, TABLE_FONT_PT) <= width - 2 * CELL_PADDING:
        return cell
    return Paragraph(escape(cell), styles.cell if column < 2 else styles.centered_cell)


class _Footer:
    """Draws each page's footer once the page count is known (reportlab's two-step canvas:
    pages are kept until `save`, then numbered)."""

    def __init__(self, title: str, audit: str) -> None:
        self.title = title
        self.audit = audit

    def canvas_class(self) -> type[Any]:
        footer = self

        class FooterCanvas(Canvas):  # type: ignore[misc]
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._saved_pages: list[dict[str, Any]] = []

            def showPage(self) -> None:  # reportlab's name
                self._saved_pages.append(dict(self.__dict__))
                self._startPage()

            def save(self) -> None:
                total = len(self._saved_pages)
                for number, state in enumerate(self._saved_pages, start=1):
                    self.__dict__.update(state)
                    footer.draw(self, number, total)
                    super().showPage()
                super().save()

        return FooterCanvas

    def draw(self, canvas: Any, number: int, total: int) -> None:
        page_width = PAGE[0]
        canvas.saveState()
        canvas.setFont(PDF_FONT, 8)
        canvas.setFillGray(0.35)
        canvas.drawString(MARGIN, FOOTER_Y, self.title)
        canvas.drawCentredString(page_width / 2, FOOTER_Y, f"第 {number} 页 / 共 {total} 页")
        if self.audit:
            canvas.drawRightString(page_width - MARGIN, FOOTER_Y, self.audit)
        canvas.restoreState()
