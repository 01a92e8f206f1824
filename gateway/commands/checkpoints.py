"""`campus-gateway checkpoints print`: a printable sheet of signed QR posters, one per
checkpoint of a school, to put up where the guards patrol.

Each poster (a quarter of an A4 page, A6, with cut lines) has the QR code of the
checkpoint's signed tag, the checkpoint's name in large Chinese characters, the school, the
checkpoint id and the key version (so that after a key rotation the old posters are easy to
find). `.pdf`: vector QR codes and reportlab's built-in Chinese font (no font file needed).
`.png`: 150 dpi pages drawn with Pillow and a CJK font of the system.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFont

from drivers.camera.qr import encode_qr
from gateway.errors import ConfigError, NotFound
from gateway.patrol.tokens import sign_tag
from gateway.settings import Checkpoint, School, Settings

CALL_TO_ACTION = "巡查点 · 请保安扫码签到"
KEY_AREA = "重点部位"
PDF_FONT = "STSong-Light"  # one of the CID fonts every PDF reader has: no file to embed
PNG_DPI = 150
COLUMNS, ROWS = 2, 2  # A6 posters, four to an A4 page
A4_MM = (210.0, 297.0)
# 45 modules of 1.8 mm: the 3.5 px a module the decoder needs (docs/qr-decoding.md) from
# half a metre in a 1280-px camera frame, from 1.5 m in a 12 MP photo.
QR_MM = 80.0
FONT_DIRS: tuple[Path, ...] = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"))
# Preference order: the files Debian's fonts-wqy-microhei, fonts-wqy-zenhei and
# fonts-noto-cjk install.
CJK_FONT_FILES = (
    "wqy-microhei.ttc",
    "wqy-zenhei.ttc",
    "NotoSansCJK-Regular.ttc",
    "NotoSansCJKsc-Regular.otf",
    "NotoSerifCJK-Regular.ttc",
)

Gray = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class Poster:
    school_name: str
    checkpoint: Checkpoint
    tag: str
    key_version: int

    @property
    def small_print(self) -> str:
        return f"{self.checkpoint.id} · 密钥版本 {self.key_version}"


def print_checkpoint_sheet(
    settings: Settings,
    school_id: str,
    output: Path,
    *,
    key_version: int | None = None,
    include_all: bool = False,
) -> Path:
    """Write the school's posters to `output` (.pdf or .png) and return the file written.

    Key checkpoints only unless `include_all`. A .png of more than one page is written as
    `NAME-1.png`, `NAME-2.png`...: the first is returned. Raises NotFound for an unknown
    school, ConfigError when there is nothing to print, no such key, an unknown format, or
    (for .png) no Chinese font on the system.
    """
    posters = sheet_posters(settings, school_id, key_version=key_version, include_all=include_all)
    suffix = output.suffix.lower()
    writers: dict[str, Callable[[Sequence[Poster], Path], Path]] = {
        ".pdf": _write_pdf,
        ".png": _write_png,
    }
    if suffix not in writers:
        raise ConfigError(
            [f"{output}: write the sheet to a .pdf or a .png file, not {suffix or 'no suffix'!r}"]
        )
    if not output.parent.is_dir():
        raise ConfigError([f"{output}: the folder {output.parent} does not exist"])
    return writers[suffix](posters, output)


def sheet_posters(
    settings: Settings, school_id: str, *, key_version: int | None, include_all: bool
) -> list[Poster]:
    """The posters to print, each with its signed tag, in the configuration's order."""
    school = settings.school(school_id)
    if school is None:
        known = ", ".join(s.id for s in settings.schools)
        raise NotFound(f"school {school_id!r} is not in the configuration (known: {known})")
    checkpoints = _chosen(school, include_all)
    keys = settings.patrol.keys
    version = settings.patrol.signing_version if key_version is None else key_version
    if version is None:
        raise ConfigError(
            ['patrol.keys: no key to sign the QR codes with, e.g. keys: {1: "${PATROL_KEY}"}']
        )
    if version not in keys:
        configured = ", ".join(str(v) for v in sorted(keys))
        raise ConfigError([f"key version {version} is not under patrol.keys ({configured})"])
    return [
        Poster(
            school_name=school.name,
            checkpoint=checkpoint,
            tag=sign_tag(settings.patrol, school.id, checkpoint.id, version),
            key_version=version,
        )
        for checkpoint in checkpoints
    ]


def _chosen(school: School, include_all: bool) -> list[Checkpoint]:
    if not school.checkpoints:
        raise ConfigError(
            [f"school {school.id!r} has no checkpoints: describe them under its checkpoints"]
        )
    if include_all:
        return list(school.checkpoints)
    if not school.key_checkpoints:
        raise ConfigError(
            [
                f"school {school.id!r} has no key checkpoints (key_area: true); print all "
                f"{len(school.checkpoints)} with --all"
            ]
        )
    return school.key_checkpoints


def _qr_modules(tag: str) -> Gray:
    """The code as a matrix of modules (0 dark, 255 light) with the 4-module quiet zone."""
    return encode_qr(tag, module_px=1, border_modules=4)


def _pages(posters: Sequence[Poster]) -> list[Sequence[Poster]]:
    per_page = COLUMNS * ROWS
    return [posters[at : at + per_page] for at in range(0, len(posters), per_page)]


@dataclass(frozen=True, slots=True)
class Line:
    """A line of text on a poster: its baseline below the poster's top, size, greyness."""

    text: str
    baseline_mm: float
    size_pt: float
    gray: float = 0.0  # 0 black .. 1 white


# Where things go on an A6 poster (105 x 148.5 mm), measured from its top.
QR_TOP_MM = 18.0
SIDE_MARGIN_MM = 8.0


def poster_lines(poster: Poster) -> list[Line]:
    small = poster.small_print + (f" · {KEY_AREA}" if poster.checkpoint.key_area else "")
    return [
        Line(CALL_TO_ACTION, 12.0, 12.0, 0.25),
        Line(poster.checkpoint.name, QR_TOP_MM + QR_MM + 15.0, 28.0),
        Line(poster.school_name, QR_TOP_MM + QR_MM + 25.0, 13.0, 0.15),
        Line(small, QR_TOP_MM + QR_MM + 33.0, 8.5, 0.35),
    ]


# --- PDF ----------------------------------------------------------------------------------


def _write_pdf(posters: Sequence[Poster], output: Path) -> Path:
    from reportlab.lib.units import mm  # type: ignore[import-untyped]
    from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont  # type: ignore[import-untyped]
    from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    page_w, page_h = A4_MM[0] * mm, A4_MM[1] * mm
    cell_w, cell_h = page_w / COLUMNS, page_h / ROWS
    temporary = output.with_name(output.name + ".part")
    canvas = Canvas(str(temporary), pagesize=(page_w, page_h))
    canvas.setTitle(f"{posters[0].school_name} 巡查点二维码")
    for page in _pages(posters):
        _cut_lines_pdf(canvas, page_w, page_h, cell_w, cell_h)
        for index, poster in enumerate(page):
            left = (index % COLUMNS) * cell_w
            top = page_h - (index // COLUMNS) * cell_h
            _poster_pdf(canvas, poster, left, top, cell_w, float(mm), pdfmetrics.stringWidth)
        canvas.showPage()
    try:
        canvas.save()
        temporary.replace(output)  # a reader never sees half a sheet
    finally:
        temporary.unlink(missing_ok=True)
    return output


def _cut_lines_pdf(canvas: Any, page_w: float, page_h: float, cell_w: float, cell_h: float) -> None:
    canvas.setStrokeGray(0.75)
    canvas.setLineWidth(0.5)
    canvas.setDash(3, 3)
    for column in range(1, COLUMNS):
        canvas.line(column * cell_w, 0, column * cell_w, page_h)
    for row in range(1, ROWS):
        canvas.line(0, row * cell_h, page_w, row * cell_h)
    canvas.setDash()


def _poster_pdf(
    canvas: Any,
    poster: Poster,
    left: float,
    top: float,
    cell_w: float,
    mm: float,
    string_width: Callable[[str, str, float], float],
) -> None:
    modules = _qr_modules(poster.tag)
    count = modules.shape[0]
    side = QR_MM * mm
    step = side / count
    x0, y0 = left + (cell_w - side) / 2, top - QR_TOP_MM * mm
    # One path of dark runs, filled once: no hairline seams between modules.
    path = canvas.beginPath()
    for row in range(count):
        for start, end in _dark_runs(modules[row]):
            path.rect(x0 + start * step, y0 - (row + 1) * step, (end - start) * step, step)
    canvas.setFillGray(0)
    canvas.drawPath(path, stroke=0, fill=1)
    room = cell_w - 2 * SIDE_MARGIN_MM * mm
    for line in poster_lines(poster):
        # The font's character set (GB 2312) has the middle dot as U+30FB, not U+00B7.
        text = line.text.replace("\u00b7", "\u30fb")
        size = line.size_pt
        while size > 6 and string_width(text, PDF_FONT, size) > room:
            size -= 0.5
        canvas.setFont(PDF_FONT, size)
        canvas.setFillGray(line.gray)
        canvas.drawCentredString(left + cell_w / 2, top - line.baseline_mm * mm, text)


def _dark_runs(row: Gray) -> list[tuple[int, int]]:
    """[start, end) of each run of dark modules in a row."""
    dark = np.concatenate(([False], row < 128, [False]))
    edges = np.flatnonzero(dark[1:] != dark[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


# --- PNG ----------------------------------------------------------------------------------


def find_cjk_font() -> Path:
    """A font file with Chinese characters, or ConfigError saying what to install."""
    for name in CJK_FONT_FILES:
        for folder in FONT_DIRS:
            if folder.is_dir():
                found = next(iter(sorted(folder.rglob(name))), None)
                if found is not None:
                    return found
    raise ConfigError(
        [
            "no Chinese font for a .png sheet (looked for "
            f"{', '.join(CJK_FONT_FILES)} under {', '.join(str(d) for d in FONT_DIRS)}): "
            "apt-get install fonts-wqy-microhei, or write a .pdf, which needs no font"
        ]
    )


def _write_png(posters: Sequence[Poster], output: Path) -> Path:
    font_file = find_cjk_font()
    pages = _pages(posters)
    paths = (
        [output]
        if len(pages) == 1
        else [
            output.with_name(f"{output.stem}-{n}{output.suffix}") for n in range(1, len(pages) + 1)
        ]
    )
    for page, path in zip(pages, paths, strict=True):
        image = _page_png(page, font_file)
        temporary = path.with_name(path.name + ".part")
        try:
            image.save(temporary, format="PNG", dpi=(PNG_DPI, PNG_DPI))
            temporary.replace(path)
        finally:
            temporary.unlink(missing_ok=True)
    return paths[0]


def _px(mm: float) -> int:
    return round(mm / 25.4 * PNG_DPI)


def _page_png(page: Sequence[Poster], font_file: Path) -> Image.Image:
    width, height = _px(A4_MM[0]), _px(A4_MM[1])
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    cell_w, cell_h = width // COLUMNS, height // ROWS
    for column in range(1, COLUMNS):
        for y in range(0, height, 12):
            draw.line([(column * cell_w, y), (column * cell_w, y + 5)], fill=190)
    for row in range(1, ROWS):
        for x in range(0, width, 12):
            draw.line([(x, row * cell_h), (x + 5, row * cell_h)], fill=190)
    for index, poster in enumerate(page):
        left, top = (index % COLUMNS) * cell_w, (index // COLUMNS) * cell_h
        _poster_png(image, draw, poster, left, top, cell_w, font_file)
    return image


def _poster_png(
    image: Image.Image,
    draw: ImageDraw.ImageDraw,
    poster: Poster,
    left: int,
    top: int,
    cell_w: int,
    font_file: Path,
) -> None:
    count = _qr_modules(poster.tag).shape[0]
    module_px = max(1, _px(QR_MM) // count)  # whole pixels per module: crisp edges
    code = Image.fromarray(encode_qr(poster.tag, module_px=module_px, border_modules=4))
    image.paste(code, (left + (cell_w - code.width) // 2, top + _px(QR_TOP_MM)))
    room = cell_w - 2 * _px(SIDE_MARGIN_MM)
    for line in poster_lines(poster):
        size = max(8, round(line.size_pt / 72 * PNG_DPI))
        font = ImageFont.truetype(str(font_file), size)
        while size > 8 and font.getlength(line.text) > room:
            size -= 1
            font = ImageFont.truetype(str(font_file), size)
        fill = round(255 * line.gray)
        xy = (left + cell_w / 2, top + _px(line.baseline_mm))
        draw.text(xy, line.text, font=font, fill=fill, anchor="ms")
