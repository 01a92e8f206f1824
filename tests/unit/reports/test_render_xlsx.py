"""The monthly report as XLSX: opened with openpyxl, numbers checked as numbers, rates with
their percent format, the title block and the 4个100% sheet."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from gateway.reports.render_xlsx import render_xlsx
from tests.unit.reports.samples import AUDIT_HEAD, YUCAI, empty_report, report_of, sample_report

NA = "—"


def workbook(data: bytes) -> Workbook:
    return load_workbook(io.BytesIO(data))


def sheet(book: Workbook, name: str) -> Worksheet:
    found = book[name]
    assert isinstance(found, Worksheet)
    return found


def header_row(ws: Worksheet, first_title: str) -> int:
    for row in ws.iter_rows(min_col=1, max_col=1):
        if row[0].value == first_title:
            return row[0].row
    raise AssertionError(f"no header starting with {first_title!r}")


def table(ws: Worksheet, first_title: str) -> list[dict[str, Any]]:
    """The table under the header row, each row as {title: cell}."""
    top = header_row(ws, first_title)
    titles = [None if cell.value is None else str(cell.value) for cell in ws[top]]
    return [
        {title: cell for title, cell in zip(titles, row, strict=True) if title is not None}
        for row in ws.iter_rows(min_row=top + 1)
    ]


@pytest.fixture(scope="module")
def book() -> Workbook:
    return workbook(render_xlsx(sample_report()))


def test_sheets(book: Workbook) -> None:
    assert book.sheetnames == ["汇总", "学校", "4个100%"]


def test_every_figure_of_a_school_row(book: Workbook) -> None:
    rows = table(sheet(book, "学校"), "区县")
    yucai = next(row for row in rows if row["学校编号"].value == "s-yucai")
    values = {title: cell.value for title, cell in yucai.items()}
    assert values == {
        "区县": "城关区",
        "学校编号": "s-yucai",
        "学校名称": "育才小学",
        "在校生数": 800,
        "保安员": 3,
        "专职保安员": 3,
        "应配保安员": 2,
        "超龄保安员": 0,
        "本季度已培训保安员": 3,
        "校门值守达标（门日）": 58,
        "校门值守应判（门日）": 60,
        "校门值守达标率（%）": 0.966,
        "校门无人值守（分钟）": 42.5,
        "重点部位巡查达标（点日）": 147,
        "重点部位巡查应判（点日）": 150,
        "重点部位巡查达标率（%）": 0.98,
        "巡查次数": 741,
        "应巡查次数": 750,
        "巡查完成率（%）": 0.988,
        "已测试报警装置（个）": 4,
        "一键报警装置（个）": 4,
        "报警装置测试率（%）": 1,
        "测试成功（次）": 4,
        "测试失败（次）": 0,
        "公安确认报警（次）": 2,
        "紧急报警（次）": 2,
        "公安确认率（%）": 1,
        "报警升级（次）": 0,
        "确认用时中位数（秒）": 12.5,
        "确认用时最长（秒）": 20,
        "新增隐患": 3,
        "已反馈隐患": 2,
        "未闭环隐患": 1,
        "逾期隐患": 0,
        "专职保安员配备": "是",
        "封闭化管理": "是",
        "一键报警与公安联网": "是",
        "视频监控与公安联网": "是",
        "4个100%": "是",
    }
    assert yucai["校门值守达标率（%）"].number_format == "0.0%"
    assert yucai["巡查完成率（%）"].number_format == "0.0%"
    assert yucai["校门无人值守（分钟）"].number_format == "0.0"
    assert yucai["保安员"].number_format == "0"


def test_not_applicable_is_a_dash_never_a_division_by_zero(book: Workbook) -> None:
    rows = table(sheet(book, "学校"), "区县")
    new = next(row for row in rows if row["学校编号"].value == "s-xinjian")
    assert new["区县"].value == "未填区县"
    assert new["在校生数"].value == NA
    assert new["校门值守达标率（%）"].value == NA
    assert new["公安确认率（%）"].value == NA
    assert new["校门值守应判（门日）"].value == 0
    assert new["4个100%"].value == "否"
    shiyan = next(row for row in rows if row["学校编号"].value == "s-shiyan")
    assert shiyan["报警装置测试率（%）"].value == 0.666
    assert shiyan["公安确认率（%）"].value == 0
    assert shiyan["确认用时中位数（秒）"].value == NA


def test_summary_title_block(book: Workbook) -> None:
    ws = sheet(book, "汇总")
    block = {row[0].value: [c.value for c in row[1:3]] for row in ws.iter_rows(max_row=5)}
    assert ws["A1"].value == "校园安全月报 2026-11"
    assert ws["A1"].font.b
    assert block["统计月份"][0] == "2026-11"
    assert block["时区"][0] == "Asia/Shanghai"
    assert block["生成时间"][0] == "2026-12-01 08:30 +08:00"  # 00:30 UTC in Shanghai
    assert block["日志链头"] == [AUDIT_HEAD.seq, AUDIT_HEAD.hash]


def test_summary_total_and_district_rows(book: Workbook) -> None:
    ws = sheet(book, "汇总")
    rows = table(ws, "层级")
    assert [(r["层级"].value, r["区县"].value) for r in rows] == [
        ("全市", None),
        ("区县", "城关区"),
        ("区县", "高新区"),
    ]
    total = {title: cell.value for title, cell in rows[0].items()}
    assert total == {
        "层级": "全市",
        "区县": None,
        "学校数": 4,
        "保安员": 9,
        "专职保安员": 8,
        "应配保安员": 8,
        "超龄保安员": 1,
        "校门值守达标（门日）": 118,
        "校门值守应判（门日）": 120,
        "校门值守达标率（%）": 0.983,
        "重点部位巡查达标（点日）": 386,
        "重点部位巡查应判（点日）": 390,
        "重点部位巡查达标率（%）": 0.989,
        "已测试报警装置（个）": 7,
        "一键报警装置（个）": 8,
        "报警装置测试率（%）": 0.875,
        "测试成功（次）": 7,
        "测试失败（次）": 1,
        "公安确认报警（次）": 2,
        "紧急报警（次）": 3,
        "公安确认率（%）": 0.666,
        "报警升级（次）": 1,
        "确认用时中位数（秒）": 12.5,
        "确认用时最长（秒）": 20,
        "新增隐患": 8,
        "已反馈隐患": 3,
        "未闭环隐患": 5,
        "专职保安员配备（达标学校）": 2,
        "专职保安员配备达标率（%）": 0.5,
        "封闭化管理（达标学校）": 3,
        "封闭化管理达标率（%）": 0.75,
        "一键报警与公安联网（达标学校）": 3,
        "一键报警与公安联网达标率（%）": 0.75,
        "视频监控与公安联网（达标学校）": 3,
        "视频监控与公安联网达标率（%）": 0.75,
        "4个100%": "否",
    }
    assert rows[0]["封闭化管理达标率（%）"].number_format == "0.0%"
    gaoxin = rows[2]
    assert gaoxin["公安确认率（%）"].value == NA
    assert gaoxin["4个100%"].value == "是"


def test_headers_are_bold_and_frozen_and_columns_sized(book: Workbook) -> None:
    summary = sheet(book, "汇总")
    top = header_row(summary, "层级")
    assert summary.freeze_panes == f"C{top + 1}"
    schools = sheet(book, "学校")
    assert schools.freeze_panes == "D2"
    assert sheet(book, "4个100%").freeze_panes == "D2"
    for ws, row in ((summary, top), (schools, 1)):
        assert all(cell.font.b for cell in ws[row] if cell.value is not None)
    name_width = schools.column_dimensions["C"].width
    assert name_width is not None and name_width >= 10  # 育才小学, 向阳幼儿园: CJK counts double
    assert 6 <= (schools.column_dimensions["D"].width or 0) <= 40


def test_four_100_sheet_per_school_and_district(book: Workbook) -> None:
    rows = table(sheet(book, "4个100%"), "区县")
    listed = [(r["区县"].value, r["学校编号"].value, r["学校名称"].value) for r in rows]
    assert listed == [
        ("城关区", "s-yucai", "育才小学"),
        ("城关区", "s-shiyan", "实验中学"),
        ("城关区", None, "小计（2所）"),
        ("高新区", "k-xiangyang", "向阳幼儿园"),
        ("高新区", None, "小计（1所）"),
        ("未填区县", "s-xinjian", "新建学校"),
        ("全市", None, "合计（4所）"),
    ]
    shiyan, chengguan, total = rows[1], rows[2], rows[6]
    assert [shiyan[t].value for t in list(shiyan)[3:]] == ["否", "是", "是", "是", "否"]
    # A district's count of schools meeting, shown "1/2所" and stored as the number 1.
    assert chengguan["专职保安员配备"].value == 1
    assert chengguan["专职保安员配备"].number_format == '0"/2所"'
    assert chengguan["封闭化管理"].value == 2
    assert chengguan["4个100%"].value == "否"
    assert total["视频监控与公安联网"].value == 3
    assert total["视频监控与公安联网"].number_format == '0"/4所"'
    assert total["学校名称"].font.b


def test_the_empty_report() -> None:
    book = workbook(render_xlsx(empty_report()))
    assert book.sheetnames == ["汇总", "学校", "4个100%"]
    summary = sheet(book, "汇总")
    labels = [row[0].value for row in summary.iter_rows(max_row=6)]
    assert "日志链头" not in labels  # no audit head, no line for it
    total = table(summary, "层级")[0]
    assert total["学校数"].value == 0
    assert total["校门值守达标率（%）"].value == NA
    assert table(sheet(book, "学校"), "区县") == []
    four = table(sheet(book, "4个100%"), "区县")
    assert [(r["区县"].value, r["学校名称"].value) for r in four] == [("全市", "合计（0所）")]
    assert four[0]["封闭化管理"].value == NA


# Formula injection (issue 17): names a spreadsheet would run, from the site's configuration.
FORMULAS = [
    "=1+2",
    '=HYPERLINK("http://evil.example","点我")',
    "+1",
    "-2+3",
    "@SUM(A1)",
    "\tx",
    "\rx",
]


@pytest.mark.parametrize("name", FORMULAS)
def test_no_cell_is_a_formula_and_the_text_reads_as_given(name: str) -> None:
    odd = replace(YUCAI, school_id=name, school_name=name, district=name)
    data = render_xlsx(report_of([odd]))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for part in archive.namelist():
            if part.startswith("xl/worksheets/"):
                assert b"<f>" not in archive.read(part), f"a formula in {part}"
    shown = name.replace("\r", "\n")  # XML reads a bare CR back as a line feed
    found = [
        cell
        for ws in workbook(data).worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.value == shown
    ]
    assert len(found) >= 5  # the id, name and district of the school, the district's rows
    for cell in found:
        assert cell.data_type == "s", cell.coordinate
        assert cell.quotePrefix, f"{cell.coordinate}: Excel would run it once edited"


def test_negative_numbers_stay_numbers_and_other_text_is_plain() -> None:
    odd = replace(YUCAI, school_name="育才-小学 a=b", unstaffed_minutes=-5.0)
    ws = sheet(workbook(render_xlsx(report_of([odd]))), "学校")
    [row] = table(ws, "区县")
    assert row["学校名称"].value == "育才-小学 a=b"
    assert not row["学校名称"].quotePrefix
    minutes = row["校门无人值守（分钟）"]
    assert (minutes.value, minutes.data_type) == (-5.0, "n")
