"""Image operations for the simulated phone photos of a QR poster (simulators/qr_photos.py
chooses the numbers; only drivers import cv2). Pure functions of numpy arrays."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from gateway.errors import GatewayError

Pixels = npt.NDArray[np.uint8]
Points = npt.NDArray[np.float32]  # 4x2 corners: top-left, top-right, bottom-right, bottom-left


class PhotoOpFailed(GatewayError):
    """An image operation was given something it cannot work on."""


def warp_onto(background: Pixels, picture: Pixels, corners: Points) -> Pixels:
    """`picture` pasted on a copy of `background` with its corners moved to `corners`.

    The picture is smoothed in proportion to how much it shrinks first, as a lens would,
    so that a finely drawn poster does not alias into patterns no camera produces.
    """
    if picture.ndim != background.ndim:
        raise PhotoOpFailed("picture and background must both be grey or both colour")
    height, width = picture.shape[:2]
    source = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    target = np.asarray(corners, dtype=np.float32)
    shrink = float(np.sqrt(cv2.contourArea(source) / max(cv2.contourArea(target), 1.0)))
    if shrink > 1.5:
        picture = np.asarray(cv2.GaussianBlur(picture, (0, 0), 0.4 * shrink), dtype=np.uint8)
    matrix = cv2.getPerspectiveTransform(source, target)
    out = background.copy()
    cv2.warpPerspective(
        picture,
        matrix,
        (background.shape[1], background.shape[0]),
        dst=out,
        flags=cv2.INTER_AREA if shrink > 1 else cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_TRANSPARENT,
    )
    return out


def gaussian_blur(image: Pixels, sigma: float) -> Pixels:
    """Defocus and hand shake, as a Gaussian of `sigma` pixels (0: unchanged)."""
    if sigma <= 0:
        return image
    return np.asarray(cv2.GaussianBlur(image, (0, 0), sigma), dtype=np.uint8)


def gray_to_bgr(image: Pixels) -> Pixels:
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), dtype=np.uint8)


def resize(image: Pixels, width: int, height: int) -> Pixels:
    interpolation = cv2.INTER_AREA if width < image.shape[1] else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, (width, height), interpolation=interpolation), np.uint8)


def encode_jpeg(image: Pixels, quality: int) -> bytes:
    """The picture as a phone would save it (4:2:0 chroma, `quality` 1..100)."""
    if not 1 <= quality <= 100:
        raise PhotoOpFailed(f"JPEG quality {quality} must be from 1 to 100")
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:  # pragma: no cover - JPEG encoding of a uint8 image does not fail
        raise PhotoOpFailed("JPEG encoding failed")
    return data.tobytes()
