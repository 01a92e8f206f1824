"""The monthly report as CSV: read back with the csv module, every figure checked against
the numbers the sample schools were given."""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from gateway.reports.labels import percent_text, threshold_text
from gateway.reports.model import Ratio
from gateway.reports.render_csv import render_csv
from tests.unit.reports.samples import YUCAI, empty_report, report_of, sample_report

HEADER = [
    "层级",
    "区县",
    "学校编号",
    "学校名称",
    "学校数",
    "在校生数",
    "保安员",
    "专职保安员",
    "应配保安员",
    "超龄保安员",
    "本季度已培训保安员",
    "校门值守达标（门日）",
    "校门值守应判（门日）",
    "校门值守达标率（%）",
    "校门无人值守（分钟）",
    "重点部位巡查达标（点日）",
    "重点部位巡查应判（点日）",
    "重点部位巡查达标率（%）",
    "巡查次数",
    "应巡查次数",
    "巡查完成率（%）",
    "已测试报警装置（个）",
    "一键报警装置（个）",
    "报警装置测试率（%）",
    "测试成功（次）",
    "测试失败（次）",
    "公安确认报警（次）",
    "紧急报警（次）",
    "公安确认率（%）",
    "报警升级（次）",
    "确认用时中位数（秒）",
    "确认用时最长（秒）",
    "新增隐患",
    "已反馈隐患",
    "未闭环隐患",
    "逾期隐患",
    "专职保安员配备",
    "封闭化管理",
    "一键报警与公安联网",
    "视频监控与公安联网",
    "4个100%",
]


def read(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows[0] == HEADER
    assert all(len(row) == len(HEADER) for row in rows)
    return [dict(zip(HEADER, row, strict=True)) for row in rows[1:]]


def by_school(rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    return {row["学校编号"]: row for row in rows if row["层级"] == "学校"}


def test_rows_come_site_then_districts_then_schools_by_district() -> None:
    rows = read(render_csv(sample_report()))
    assert [(r["层级"], r["区县"], r["学校编号"]) for r in rows] == [
        ("全市", "", ""),
        ("区县", "城关区", ""),
        ("区县", "高新区", ""),
        ("学校", "城关区", "s-yucai"),
        ("学校", "城关区", "s-shiyan"),
        ("学校", "高新区", "k-xiangyang"),
        ("学校", "未填区县", "s-xinjian"),
    ]


def test_every_figure_of_a_school() -> None:
    yucai = by_school(read(render_csv(sample_report())))["s-yucai"]
    assert yucai == {
        "层级": "学校",
        "区县": "城关区",
        "学校编号": "s-yucai",
        "学校名称": "育才小学",
        "学校数": "",
        "在校生数": "800",
        "保安员": "3",
        "专职保安员": "3",
        "应配保安员": "2",
        "超龄保安员": "0",
        "本季度已培训保安员": "3",
        "校门值守达标（门日）": "58",
        "校门值守应判（门日）": "60",
        "校门值守达标率（%）": "96.6",  # 96.67% cut, never rounded up
        "校门无人值守（分钟）": "42.5",
        "重点部位巡查达标（点日）": "147",
        "重点部位巡查应判（点日）": "150",
        "重点部位巡查达标率（%）": "98.0",
        "巡查次数": "741",
        "应巡查次数": "750",
        "巡查完成率（%）": "98.8",
        "已测试报警装置（个）": "4",
        "一键报警装置（个）": "4",
        "报警装置测试率（%）": "100.0",
        "测试成功（次）": "4",
        "测试失败（次）": "0",
        "公安确认报警（次）": "2",
        "紧急报警（次）": "2",
        "公安确认率（%）": "100.0",
        "报警升级（次）": "0",
        "确认用时中位数（秒）": "12.5",
        "确认用时最长（秒）": "20.0",
        "新增隐患": "3",
        "已反馈隐患": "2",
        "未闭环隐患": "1",
        "逾期隐患": "0",
        "专职保安员配备": "是",
        "封闭化管理": "是",
        "一键报警与公安联网": "是",
        "视频监控与公安联网": "是",
        "4个100%": "是",
    }


def test_a_school_short_of_its_obligations() -> None:
    shiyan = by_school(read(render_csv(sample_report())))["s-shiyan"]
    assert shiyan["超龄保安员"] == "1"
    assert shiyan["报警装置测试率（%）"] == "66.6"
    assert shiyan["测试失败（次）"] == "1"
    assert shiyan["公安确认率（%）"] == "0.0"
    assert shiyan["确认用时中位数（秒）"] == "—"  # no alarm acknowledged: no time to show
    assert shiyan["逾期隐患"] == "2"
    assert shiyan["专职保安员配备"] == "否"
    assert shiyan["封闭化管理"] == "是"
    assert shiyan["4个100%"] == "否"


def test_a_school_with_nothing_configured_reads_not_applicable() -> None:
    row = by_school(read(render_csv(sample_report())))["s-xinjian"]
    assert row["区县"] == "未填区县"
    assert row["在校生数"] == "—"
    for title in HEADER:
        if title.endswith("率（%）"):
            assert row[title] == "—", title
    assert row["校门值守应判（门日）"] == "0"
    assert [row[t] for t in HEADER[-5:]] == ["否"] * 5


def test_area_rows() -> None:
    rows = read(render_csv(sample_report()))
    total, chengguan, gaoxin = rows[0], rows[1], rows[2]
    assert total["学校数"] == "4"
    assert total["保安员"] == "9"
    assert (total["校门值守达标（门日）"], total["校门值守应判（门日）"]) == ("118", "120")
    assert total["校门值守达标率（%）"] == "98.3"
    assert (total["公安确认报警（次）"], total["紧急报警（次）"]) == ("2", "3")
    assert total["公安确认率（%）"] == "66.6"
    assert total["专职保安员配备"] == "2/4所"
    assert total["封闭化管理"] == "3/4所"
    assert total["4个100%"] == "否"
    # What the model keeps per school only is left empty on an area's row.
    assert total["在校生数"] == total["逾期隐患"] == total["巡查次数"] == ""
    assert chengguan["学校数"] == "2"
    assert chengguan["重点部位巡查达标率（%）"] == "99.0"
    assert chengguan["专职保安员配备"] == "1/2所"
    assert gaoxin["公安确认率（%）"] == "—"
    assert gaoxin["4个100%"] == "是"


def test_the_empty_report_has_the_header_and_the_site_row() -> None:
    rows = read(render_csv(empty_report()))
    assert len(rows) == 1
    assert rows[0]["层级"] == "全市"
    assert rows[0]["学校数"] == "0"
    assert rows[0]["校门值守达标率（%）"] == "—"
    assert rows[0]["4个100%"] == "—"


def test_names_with_separators_and_quotes_round_trip() -> None:
    odd = replace(YUCAI, school_name='育才小学,东校区 "新"', district="城关区\n北")
    rows = read(render_csv(report_of([odd])))
    school = by_school(rows)["s-yucai"]
    assert school["学校名称"] == '育才小学,东校区 "新"'
    assert school["区县"] == "城关区\n北"


# The digits every format shares (labels): rates cut, never rounded up, thresholds short.
@pytest.mark.parametrize(
    "done, required, text",
    [
        (0, 0, "—"),
        (0, 5, "0.0%"),
        (1, 3, "33.3%"),
        (2, 3, "66.6%"),
        (19, 20, "95.0%"),
        (1979, 2000, "98.9%"),  # 98.95%: rounding would print the 99% it has not reached
        (1999, 2000, "99.9%"),  # 99.95%: rounding would print 100.0%
        (2000, 2000, "100.0%"),
        (3, 2, "150.0%"),
    ],
)
def test_percent_text(done: int, required: int, text: str) -> None:
    assert percent_text(Ratio(done, required)) == text


@pytest.mark.parametrize(
    "threshold, text",
    [(0.99, "99%"), (0.9, "90%"), (0.975, "97.5%"), (1.0, "100%"), (0.0, "0%"), (0.29, "29%")],
)
def test_threshold_text(threshold: float, text: str) -> None:
    assert threshold_text(threshold) == text


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
def test_text_a_spreadsheet_would_run_gets_a_leading_quote(name: str) -> None:
    odd = replace(YUCAI, school_id=name, school_name=name, district=name)
    rows = read(render_csv(report_of([odd])))
    [school] = [row for row in rows if row["层级"] == "学校"]
    assert school["学校编号"] == school["学校名称"] == school["区县"] == f"'{name}"
    [district] = [row for row in rows if row["层级"] == "区县"]
    assert district["区县"] == f"'{name}"


def test_other_text_and_negative_numbers_are_written_as_they_are() -> None:
    odd = replace(YUCAI, school_name="育才-小学 a=b", unstaffed_minutes=-5.0)
    school = by_school(read(render_csv(report_of([odd]))))["s-yucai"]
    assert school["学校名称"] == "育才-小学 a=b"
    assert school["校门无人值守（分钟）"] == "-5.0"  # a number: no quote before it
