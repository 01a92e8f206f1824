"""The monthly report as PDF: its text extracted with pypdf (Chinese must be real text),
the footer on every page, and a 300-school report that breaks over pages with its header."""

from __future__ import annotations

import io
import re
import time
from dataclasses import replace

import pytest
from pypdf import PdfReader

from gateway.reports.model import INDICATOR_TEXT, Ratio
from gateway.reports.render_pdf import render_pdf
from tests.unit.reports.samples import (
    YUCAI,
    empty_report,
    large_report,
    report_of,
    sample_report,
)


def pages(data: bytes) -> list[str]:
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def squeezed(text: str) -> str:
    """Text without line breaks and spaces: a wrapped table title reads as one."""
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def sample_text() -> list[str]:
    return pages(render_pdf(sample_report()))


def test_title_and_header_line(sample_text: list[str]) -> None:
    first = sample_text[0]
    assert "校园安全月报 2026-11" in first
    assert "生成时间 2026-12-01 08:30 +08:00" in first  # the report's zone, not UTC
    assert "时区 Asia/Shanghai" in first
    assert "学校 4 所" in first


def test_schools_districts_and_figures(sample_text: list[str]) -> None:
    text = "\n".join(sample_text)
    for name in ("育才小学", "实验中学", "向阳幼儿园", "新建学校", "城关区", "高新区", "未填区县"):
        assert name in text, name
    for school_id in ("s-yucai", "s-shiyan", "k-xiangyang", "s-xinjian"):
        assert school_id in text
    # 育才小学: gate-days, patrol-days, median acknowledgement; the site total's gate-days.
    for figure in ("58/60 96.6%", "147/150 98.0%", "12.5", "118/120 98.3%", "2/3 66.6%"):
        assert figure in text, figure


def test_indicators_and_yes_no(sample_text: list[str]) -> None:
    text = "\n".join(sample_text)
    for words in INDICATOR_TEXT.values():
        assert words in text, words
    assert "4个100%" in text
    assert "2/4所 50.0%" in text  # the whole site: schools meeting 专职保安员配备
    assert "是" in text and "否" in text
    # The schools short of the 4个100%, each with what it misses.
    assert "未达到4个100%的学校" in text
    assert "专职保安员配备、封闭化管理、一键报警与公安联网、视频监控与公安联网" in squeezed(text)


def test_not_applicable_reads_as_a_dash(sample_text: list[str]) -> None:
    school_page = "\n".join(sample_text)
    new_school = school_page[school_page.rindex("新建学校") :]
    assert "—" in new_school


def test_footer_on_every_page(sample_text: list[str]) -> None:
    total = len(sample_text)
    for number, text in enumerate(sample_text, start=1):
        assert f"第 {number} 页 / 共 {total} 页" in text
        assert "日志链头 第4821条 9f2c4e1ab37d5c60…" in text


def test_without_an_audit_head_the_footer_has_none() -> None:
    text = "\n".join(pages(render_pdf(sample_report(audit_head=None))))
    assert "日志链头" not in text
    assert "第 1 页" in text


def test_the_empty_report() -> None:
    texts = pages(render_pdf(empty_report()))
    assert len(texts) == 1
    assert "校园安全月报 2026-11" in texts[0]
    assert "本月没有学校数据" in texts[0]
    assert "全市" in texts[0]


def test_three_hundred_schools_break_over_pages_with_the_header_repeated() -> None:
    started = time.perf_counter()
    data = render_pdf(large_report(300))
    elapsed = time.perf_counter() - started
    assert elapsed < 15, f"{elapsed:.1f} s for 300 schools"
    texts = pages(data)
    assert len(texts) > 5
    school_pages = [t for t in texts if "第150实验学校" in t or "s-0300" in t]
    assert school_pages
    first_school_page = next(i for i, t in enumerate(texts) if "s-0001" in t)
    for number, text in enumerate(texts[first_school_page:], start=first_school_page + 1):
        assert "校门值守（门日）" in text, f"page {number} lacks the table header"
        assert f"第 {number} 页 / 共 {len(texts)} 页" in text
    everything = "\n".join(texts)
    for index in range(1, 301):
        assert f"s-{index:04d}" in everything
    assert "59/60 98.3%" in everything  # every tenth school missed a gate-day


def test_long_names_and_large_figures_wrap_inside_their_cells() -> None:
    district = "某某市某某县经济技术开发区管理委员会教育局"
    name = "某某市某某县经济技术开发区第一实验学校附属幼儿园分园"
    school = replace(YUCAI, district=district, school_name=name, patrol_days=Ratio(154999, 155000))
    data = render_pdf(report_of([school]))
    text = squeezed("\n".join(pages(data)))
    assert district in text
    assert name in text
    assert "154999/15500099.9%" in text
    # Drawn as separate lines (a paragraph in the cell), not one run over the cell's edge.
    runs: list[str] = []
    for page in PdfReader(io.BytesIO(data)).pages:
        page.extract_text(visitor_text=lambda run, *_: runs.append(run))
    assert any("154999/155000" in run for run in runs)
    assert not any("154999/155000 99.9%" in run for run in runs)
    assert not any(district in run for run in runs)
