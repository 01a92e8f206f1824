"""The checkpoint poster sheet: PDF text, PNG codes that verify, clear refusals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from drivers.camera.qr import decode_qr
from gateway.cli import app
from gateway.commands import checkpoints
from gateway.commands.checkpoints import print_checkpoint_sheet
from gateway.errors import ConfigError, NotFound
from gateway.patrol.tokens import verify_tag
from gateway.settings import Settings, parse_settings
from tests.support.services import missing
from tests.support.site import site_tree

SCHOOL = "fy-dongguan-ms"
KEY_CHECKPOINTS = {"cp-dorm": "宿舍楼", "cp-gate": "北门岗亭", "cp-canteen": "学生食堂仓库"}
OTHER_CHECKPOINTS = {"cp-field": "操场", "cp-lab": "化学实验室"}


def _tree() -> dict[str, Any]:
    tree = site_tree(
        mqtt_url="mqtt://127.0.0.1:1883",
        database_url="sqlite+aiosqlite:///campus.db",
        database_schema=None,
        police_urls={},
    )
    school = tree["schools"][0]
    school["checkpoints"] = [
        {"id": "cp-dorm", "name": "宿舍楼", "key_area": True},
        {"id": "cp-field", "name": "操场"},
        {"id": "cp-gate", "name": "北门岗亭", "key_area": True},
        {"id": "cp-lab", "name": "化学实验室"},
        {"id": "cp-canteen", "name": "学生食堂仓库", "key_area": True},
    ]
    return tree


@pytest.fixture
def settings() -> Settings:
    return parse_settings(_tree())


def _with_second_key(current: int | None = None) -> Settings:
    tree = _tree()
    tree["patrol"] = {"keys": {1: "old-patrol-key-0123456789", 2: "new-patrol-key-0123456789"}}
    if current is not None:
        tree["patrol"]["current_key"] = current
    return parse_settings(tree)


def _pdf_text(path: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def test_pdf_has_every_key_checkpoint_in_chinese(settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "sheet.pdf"
    assert print_checkpoint_sheet(settings, SCHOOL, output) == output
    pages = _pdf_text(output)
    assert len(pages) == 1  # three posters, four to a page
    text = pages[0]
    for name in KEY_CHECKPOINTS.values():
        assert name in text
    for checkpoint_id in KEY_CHECKPOINTS:
        assert checkpoint_id in text
    for name in OTHER_CHECKPOINTS.values():
        assert name not in text
    assert "汾阳市东关中学" in text
    assert "密钥版本 1" in text
    assert "请保安扫码签到" in text
    assert not list(tmp_path.glob("*.part"))


def test_pdf_with_all_checkpoints_takes_two_pages(settings: Settings, tmp_path: Path) -> None:
    output = tmp_path / "all.pdf"
    print_checkpoint_sheet(settings, SCHOOL, output, include_all=True)
    text = "".join(_pdf_text(output))
    assert len(_pdf_text(output)) == 2
    for name in {**KEY_CHECKPOINTS, **OTHER_CHECKPOINTS}.values():
        assert name in text


def _cjk_font_or_skip() -> None:
    try:
        checkpoints.find_cjk_font()
    except ConfigError:
        missing("a CJK font for PNG sheets", "apt-get install fonts-wqy-microhei")


def test_png_codes_are_the_signed_tags_of_the_key_checkpoints(
    settings: Settings, tmp_path: Path
) -> None:
    _cjk_font_or_skip()
    output = tmp_path / "sheet.png"
    assert print_checkpoint_sheet(settings, SCHOOL, output) == output
    texts = decode_qr(output.read_bytes())
    proven = {verify_tag(settings, text) for text in texts}
    assert len(texts) == 3
    assert {tag.checkpoint_id for tag in proven} == set(KEY_CHECKPOINTS)
    assert {(tag.school_id, tag.key_version) for tag in proven} == {(SCHOOL, 1)}


def test_png_of_several_pages_is_numbered(settings: Settings, tmp_path: Path) -> None:
    _cjk_font_or_skip()
    output = tmp_path / "all.png"
    first = print_checkpoint_sheet(settings, SCHOOL, output, include_all=True)
    assert first == tmp_path / "all-1.png"
    assert not output.exists()
    pages = [tmp_path / "all-1.png", tmp_path / "all-2.png"]
    texts = [text for page in pages for text in decode_qr(page.read_bytes())]
    assert len(texts) == 5
    checkpoint_ids = {verify_tag(settings, text).checkpoint_id for text in texts}
    assert checkpoint_ids == set(KEY_CHECKPOINTS) | set(OTHER_CHECKPOINTS)


def test_png_without_a_chinese_font_names_the_package(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "FONT_DIRS", (tmp_path / "no-fonts",))
    with pytest.raises(ConfigError, match=r"apt-get install fonts-wqy-microhei.*pdf"):
        print_checkpoint_sheet(settings, SCHOOL, tmp_path / "sheet.png")
    assert not (tmp_path / "sheet.png").exists()


def test_the_current_key_signs_unless_another_is_asked(tmp_path: Path) -> None:
    _cjk_font_or_skip()
    settings = _with_second_key()
    newest = print_checkpoint_sheet(settings, SCHOOL, tmp_path / "new.png")
    assert {verify_tag(settings, t).key_version for t in decode_qr(newest.read_bytes())} == {2}
    older = print_checkpoint_sheet(settings, SCHOOL, tmp_path / "old.png", key_version=1)
    assert {verify_tag(settings, t).key_version for t in decode_qr(older.read_bytes())} == {1}


def test_the_pdf_names_the_key_version(tmp_path: Path) -> None:
    settings = _with_second_key(current=1)
    print_checkpoint_sheet(settings, SCHOOL, tmp_path / "sheet.pdf")
    text = _pdf_text(tmp_path / "sheet.pdf")[0]
    assert "密钥版本 1" in text and "密钥版本 2" not in text


def test_unknown_school_lists_the_known_ones(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"fy-nowhere.*known: fy-dongguan-ms, fy-shiyan-kg"):
        print_checkpoint_sheet(settings, "fy-nowhere", tmp_path / "sheet.pdf")


def test_school_without_checkpoints_is_refused(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"fy-shiyan-kg.*has no checkpoints"):
        print_checkpoint_sheet(settings, "fy-shiyan-kg", tmp_path / "sheet.pdf")
    assert not (tmp_path / "sheet.pdf").exists()


def test_school_without_key_checkpoints_points_to_all(tmp_path: Path) -> None:
    tree = copy.deepcopy(_tree())
    for checkpoint in tree["schools"][0]["checkpoints"]:
        checkpoint["key_area"] = False
    settings = parse_settings(tree)
    with pytest.raises(ConfigError, match=r"no key checkpoints.*--all"):
        print_checkpoint_sheet(settings, SCHOOL, tmp_path / "sheet.pdf")
    print_checkpoint_sheet(settings, SCHOOL, tmp_path / "sheet.pdf", include_all=True)
    assert "操场" in _pdf_text(tmp_path / "sheet.pdf")[0]


def test_a_key_version_not_configured_is_refused(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key version 7 is not under patrol.keys"):
        print_checkpoint_sheet(settings, SCHOOL, tmp_path / "sheet.pdf", key_version=7)


def test_no_patrol_key_is_refused(tmp_path: Path) -> None:
    tree = _tree()
    tree["patrol"] = {}
    for checkpoint in tree["schools"][0]["checkpoints"]:
        checkpoint["key_area"] = False  # key checkpoints need a key to be configured at all
    with pytest.raises(ConfigError, match=r"patrol.keys"):
        print_checkpoint_sheet(parse_settings(tree), SCHOOL, tmp_path / "x.pdf", include_all=True)


@pytest.mark.parametrize("name", ["sheet.jpg", "sheet", "missing-folder/sheet.pdf"])
def test_unknown_formats_and_folders_are_refused(
    settings: Settings, tmp_path: Path, name: str
) -> None:
    with pytest.raises(ConfigError):
        print_checkpoint_sheet(settings, SCHOOL, tmp_path / name)


def test_the_command_writes_the_demo_schools_sheet(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    output = tmp_path / "sheet.pdf"
    result = CliRunner().invoke(
        app,
        [
            "checkpoints",
            "print",
            "--config",
            str(root / "config" / "demo.yaml"),
            "--school",
            "fy-dongguan-ms",
            "--output",
            str(output),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {output}"
    assert output.read_bytes().startswith(b"%PDF")
    unknown = CliRunner().invoke(
        app,
        ["checkpoints", "print", "--config", str(root / "config" / "demo.yaml"), "--school", "x"],
    )
    assert unknown.exit_code != 0
    assert "fy-dongguan-ms" in unknown.output
