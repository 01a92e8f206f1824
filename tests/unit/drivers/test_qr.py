"""QR codes: drawing, reading, and refusing what is not a picture."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from drivers.camera.qr import (
    MAX_IMAGE_BYTES,
    QrEncodingFailed,
    decode_qr,
    decode_qr_async,
    encode_qr,
    encode_qr_png,
    image_size,
)
from drivers.camera.qr_photo_ops import encode_jpeg, gray_to_bgr
from gateway.errors import PayloadRejected
from gateway.patrol.tokens import sign_tag
from gateway.settings import Patrol
from tests.support.site import PATROL_KEY

TAG = sign_tag(Patrol(keys={1: PATROL_KEY}), "fy-dongguan-ms", "cp-dorm")


def _on_page(*codes: np.ndarray, width: int = 1200, height: int = 800) -> np.ndarray:
    """Grey codes side by side on a white page (a grey picture)."""
    page = np.full((height, width), 255, dtype=np.uint8)
    x = 40
    for code in codes:
        page[60 : 60 + code.shape[0], x : x + code.shape[1]] = code
        x += code.shape[1] + 60
    return page


@pytest.mark.parametrize(
    "text",
    [
        TAG,
        "cg1:" + "s" * 64 + ":" + "c" * 64 + ":9999:" + "x" * 22,  # the longest tag
        "巡查点 · 请保安扫码签到",
        "1",
    ],
)
def test_round_trip(text: str) -> None:
    assert decode_qr(encode_qr_png(text)) == [text]


def test_the_code_is_black_modules_on_a_white_quiet_zone() -> None:
    image = encode_qr(TAG, module_px=5, border_modules=4)
    assert image.dtype == np.uint8
    assert set(np.unique(image)) == {0, 255}
    side = image.shape[0]
    assert image.shape == (side, side)
    assert side % 5 == 0
    # Q correction: the 51-character tag takes version 5, 37 modules, plus 2 x 4 quiet ones.
    assert side // 5 == 37 + 8
    quiet = 4 * 5
    assert (image[:quiet] == 255).all() and (image[-quiet:] == 255).all()
    assert (image[:, :quiet] == 255).all() and (image[:, -quiet:] == 255).all()
    assert image[quiet, quiet] == 0  # the finder pattern's corner starts right after


def test_border_and_module_size_are_the_callers() -> None:
    small = encode_qr(TAG, module_px=1, border_modules=0)
    assert small.shape == (37, 37)
    assert encode_qr(TAG, module_px=3, border_modules=2).shape == (3 * 41, 3 * 41)


@pytest.mark.parametrize(
    ("text", "module_px", "border"),
    [("", 8, 4), ("x" * 3000, 8, 4), (TAG, 0, 4), (TAG, 8, -1)],
)
def test_what_cannot_be_drawn_is_refused(text: str, module_px: int, border: int) -> None:
    with pytest.raises(QrEncodingFailed):
        encode_qr(text, module_px=module_px, border_modules=border)


def test_a_photo_with_two_codes_gives_both() -> None:
    other = sign_tag(Patrol(keys={1: PATROL_KEY}), "fy-dongguan-ms", "cp-gate")
    page = _on_page(encode_qr(TAG, module_px=6), encode_qr(other, module_px=6))
    assert sorted(decode_qr(encode_jpeg(gray_to_bgr(page), 90))) == sorted([TAG, other])


def test_a_picture_without_a_code_gives_nothing() -> None:
    rng = np.random.default_rng(7)
    wall = np.clip(rng.normal(140, 25, size=(480, 640)), 0, 255).astype(np.uint8)
    wall[100:300, 200:420] = 240  # a blank sheet of paper
    assert decode_qr(encode_jpeg(gray_to_bgr(wall), 85)) == []


def test_a_blank_picture_gives_nothing() -> None:
    assert decode_qr(encode_jpeg(np.full((240, 320, 3), 255, dtype=np.uint8), 90)) == []


def test_a_portrait_photo_with_exif_rotation_is_read() -> None:
    # Phones store portrait photos landscape with an EXIF "rotate 90°" tag.
    page = _on_page(encode_qr(TAG, module_px=6), width=900, height=500)
    jpeg = encode_jpeg(gray_to_bgr(page), 90)
    tiff = b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, 6, 0, 0)
    app1 = b"Exif\x00\x00" + tiff
    rotated = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]
    assert image_size(rotated) == (900, 500)
    assert decode_qr(rotated) == [TAG]


def test_jpeg_and_png_sizes_are_read_from_the_header() -> None:
    page = _on_page(encode_qr(TAG, module_px=1), width=321, height=123)
    assert image_size(encode_jpeg(gray_to_bgr(page), 80)) == (321, 123)
    png = encode_qr_png(TAG, module_px=2)
    assert image_size(png) == (2 * 45, 2 * 45)


def _png_declaring(width: int, height: int) -> bytes:
    # A real PNG's header with another size: the bytes of a decompression bomb's first part.
    png = encode_qr_png("x", module_px=1)
    return png[:16] + struct.pack(">II", width, height) + png[24:]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"hello, this is not a picture", "not a JPEG or PNG"),
        (b"GIF89a" + bytes(100), "not a JPEG or PNG"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "cut short"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40), "damaged"),
        (b"\xff\xd8" + bytes(100), "damaged"),
        (b"\xff\xd8" + bytes(MAX_IMAGE_BYTES), "MB"),
        (_png_declaring(60_000, 60_000), "megapixels"),
        (_png_declaring(0, 10), "size of 0x10"),
        (_png_declaring(64, 64), "damaged"),
    ],
    ids=[
        "empty",
        "text",
        "gif",
        "short-png",
        "jpeg-without-frame",
        "jpeg-zeros",
        "too-many-bytes",
        "bomb",
        "zero-width",
        "png-lies-about-size",
    ],
)
def test_what_is_not_a_picture_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(PayloadRejected) as caught:
        decode_qr(data)
    assert caught.value.reason == "bad_image"
    assert words in caught.value.detail


def test_a_cut_off_jpeg_is_refused() -> None:
    jpeg = encode_jpeg(gray_to_bgr(_on_page(encode_qr(TAG))), 90)
    with pytest.raises(PayloadRejected, match="bad_image"):
        decode_qr(jpeg[: len(jpeg) // 2])


async def test_async_decoding_runs_off_the_event_loop() -> None:
    assert await decode_qr_async(encode_qr_png(TAG)) == [TAG]
    with pytest.raises(PayloadRejected):
        await decode_qr_async(b"junk")
