"""QR codes: `encode_qr` draws one (the checkpoint posters), `decode_qr` reads every code in a
photo a guard's phone sent (JPEG or PNG bytes).

Phone photos are rotated, tilted, blurred, dark and noisy: the decoder tries the picture as
it is, then a ladder of cheap clean-ups, and stops at the first that reads. Uploads are
checked before they are decoded: a small file cannot declare a picture that fills memory.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt

from gateway.errors import GatewayError, PayloadRejected

Gray = npt.NDArray[np.uint8]

MAX_IMAGE_BYTES = 15 * 1024 * 1024  # a phone JPEG is 2-8 MB: more is not a photo of a poster
MAX_IMAGE_PIXELS = 40_000_000  # the largest phone cameras (48-50 MP bin to 12 MP)
# No new clean-up is tried past this: a picture this hard is better taken again.
DECODE_BUDGET_S = 3.0
WORKING_SIDE = 1600  # decode big photos at this long side: faster, and no worse
_PNG = b"\x89PNG\r\n\x1a\n"
_JPEG = b"\xff\xd8"
# JPEG start-of-frame markers carry the size (C4, C8 and CC share the range but do not).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


class QrEncodingFailed(GatewayError):
    """The text cannot be drawn as a QR code (empty, or too long for one symbol)."""


def encode_qr(text: str, *, module_px: int = 8, border_modules: int = 4) -> Gray:
    """The QR code of `text`: a grayscale image, black modules of `module_px` pixels on
    white with a quiet zone of `border_modules` modules (the standard asks for 4)."""
    if not text:
        raise QrEncodingFailed("a QR code needs some text")
    if module_px < 1 or border_modules < 0:
        raise QrEncodingFailed(f"module_px {module_px} must be >= 1, border {border_modules} >= 0")
    params = cv2.QRCodeEncoder.Params()
    # Q restores 25% of the symbol: a poster in a corridor gets scuffed, wet and glared.
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_Q
    try:
        drawn = cv2.QRCodeEncoder.create(params).encode(text)
    except cv2.error as exc:
        raise QrEncodingFailed(
            f"{len(text.encode())} bytes do not fit in one QR code: {exc.err}"
        ) from exc
    # OpenCV adds a quiet zone of its own; cut it to the symbol and add ours.
    dark = np.argwhere(drawn < 128)
    (top, left), (bottom, right) = dark.min(axis=0), dark.max(axis=0)
    symbol = np.ascontiguousarray(drawn[top : bottom + 1, left : right + 1], dtype=np.uint8)
    framed = cv2.copyMakeBorder(symbol, *(border_modules,) * 4, cv2.BORDER_CONSTANT, value=(255,))
    scaled = cv2.resize(framed, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    return np.asarray(scaled, dtype=np.uint8)


def encode_qr_png(text: str, *, module_px: int = 8, border_modules: int = 4) -> bytes:
    """`encode_qr` as a PNG file."""
    ok, data = cv2.imencode(
        ".png", encode_qr(text, module_px=module_px, border_modules=border_modules)
    )
    if not ok:  # pragma: no cover - PNG encoding of a uint8 image does not fail
        raise QrEncodingFailed("PNG encoding failed")
    return data.tobytes()


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) declared by a JPEG or PNG header, read without decoding the pixels."""
    if data.startswith(_PNG):
        if len(data) < 24 or data[12:16] != b"IHDR":
            raise PayloadRejected("bad_image", "the PNG file is cut short before its header")
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data.startswith(_JPEG):
        return _jpeg_size(data)
    raise PayloadRejected("bad_image", "not a JPEG or PNG picture: send a photo of the QR code")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    at = 2
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            break
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
            at += 2
            continue
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        if marker in _SOF:
            if at + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        if marker == 0xDA or length < 2:  # scan data before any frame header: broken
            break
        at += 2 + length
    raise PayloadRejected("bad_image", "the JPEG file is damaged: no picture size in its header")


def check_image(data: bytes) -> tuple[int, int]:
    """The picture's (width, height), or PayloadRejected if it is too big or not a picture."""
    if not data:
        raise PayloadRejected("bad_image", "the picture is empty")
    if len(data) > MAX_IMAGE_BYTES:
        raise PayloadRejected(
            "bad_image",
            f"the picture is {len(data) / 1e6:.1f} MB; at most {MAX_IMAGE_BYTES // 2**20} MB",
        )
    width, height = image_size(data)
    if width < 1 or height < 1:
        raise PayloadRejected("bad_image", f"the picture declares a size of {width}x{height}")
    if width * height > MAX_IMAGE_PIXELS:
        raise PayloadRejected(
            "bad_image",
            f"the picture is {width}x{height} pixels; at most {MAX_IMAGE_PIXELS // 10**6} "
            "megapixels",
        )
    return width, height


def decode_qr(image: bytes) -> list[str]:
    """The text of every QR code in a JPEG or PNG picture, [] when none can be read.

    Blocking (tens to hundreds of milliseconds): call `decode_qr_async` on the event loop.
    """
    width, height = check_image(image)
    # A code reads at any angle: the EXIF rotation of a portrait photo is left undone, so
    # the pixels keep the size the header declared.
    flags = cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION
    picture = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), flags)
    if picture is None or picture.shape[:2] != (height, width):
        raise PayloadRejected("bad_image", "the picture cannot be decoded: the file is damaged")
    deadline = time.monotonic() + DECODE_BUDGET_S
    for variant in _variants(np.asarray(picture, dtype=np.uint8)):
        texts = _read(variant)
        if texts or time.monotonic() > deadline:
            return texts
    return []


async def decode_qr_async(image: bytes) -> list[str]:
    """`decode_qr` in a worker thread: cv2 never blocks the event loop."""
    return await asyncio.to_thread(decode_qr, image)


def _read(image: Gray) -> list[str]:
    """The texts read from one version of the picture, [] if none.

    The ArUco-based detector reads the most (dim, noisy, tilted, small codes) and is the
    fastest; the classic one reads some steep angles and heavy blur that it misses. Not the
    classic multi-code search: on grainy pictures it takes seconds, even tens of seconds.
    """
    try:
        found, texts, _corners, _codes = cv2.QRCodeDetectorAruco().detectAndDecodeMulti(image)
        decoded = [text for text in texts if text] if found else []
        if decoded:
            return list(dict.fromkeys(decoded))
        text, _quad, _code = cv2.QRCodeDetector().detectAndDecode(image)
    except cv2.error:
        # OpenCV asserts on some flat or noisy pictures (its k-means finds no clusters):
        # nothing was read from this version of the picture; the next may read.
        return []
    return [text] if text else []


def _variants(gray: Gray) -> Iterator[Gray]:
    """The picture, then clean-ups, each made only if the one before read nothing.

    The order is measured (bench/qr_decoding.py, docs/qr-decoding.md): what reads the most
    of the photos the one before missed, cheap before costly. A big photo is read scaled
    down first (ten times faster) and at full size only if that fails: a small, far-away
    code may need every pixel.
    """
    base = _working_size(gray)
    yield base
    if base is not gray:
        yield gray
    yield _sharpened(base)
    if base is gray:
        # Soft or distant codes: the detectors find finder patterns better at twice the size.
        yield _resized(base, 2.0, cv2.INTER_CUBIC)
    yield _binarized(base)
    yield _sharpened(_smoothed(base))
    yield _equalized(base)


def _working_size(gray: Gray) -> Gray:
    side = max(gray.shape[:2])
    if side <= WORKING_SIDE:
        return gray
    return _resized(gray, WORKING_SIDE / side, cv2.INTER_AREA)


def _sharpened(gray: Gray) -> Gray:
    # Unsharp mask against a slightly out-of-focus or shaken picture.
    soft = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return np.asarray(cv2.addWeighted(gray, 1.8, soft, -0.8, 0), dtype=np.uint8)


def _smoothed(gray: Gray) -> Gray:
    # Sensor noise off first, so that sharpening brings back edges and not grain.
    return np.asarray(cv2.GaussianBlur(gray, (0, 0), 1.0), dtype=np.uint8)


def _binarized(gray: Gray) -> Gray:
    # Otsu on a denoised picture: noise and blur no longer move the module edges.
    _threshold, binary = cv2.threshold(
        cv2.GaussianBlur(gray, (5, 5), 0), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    return np.asarray(binary, dtype=np.uint8)


def _equalized(gray: Gray) -> Gray:
    # A dim corridor squeezes the code into a few grey levels; local contrast brings it back.
    clahe = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8))
    return np.asarray(clahe.apply(gray), dtype=np.uint8)


def _resized(gray: Gray, scale: float, interpolation: int) -> Gray:
    height, width = gray.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(gray, size, interpolation=interpolation), dtype=np.uint8)
