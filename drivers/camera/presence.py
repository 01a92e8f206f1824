"""Presence at a gate post by background subtraction against a picture of the empty post.

Pure and synchronous (numpy in, numbers out): the watcher runs it in a worker thread.
Lighting is compensated by fitting the reference's grey levels to the frame's
(frame ≈ gain · reference + offset) robustly, so lights switching on or the sun going behind
a cloud is not a person; a person covers too little of the frame to pull that fit.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from drivers.camera.types import Region, region_problems
from gateway.errors import ConfigError

Image = npt.NDArray[np.uint8]
Grey = npt.NDArray[np.float32]

DETECT_WIDTH = 640  # frames are scaled down to this width first: plenty for a person, cheap
PIXEL_LEVEL = 25.0  # grey levels (after blur and lighting compensation) that count as changed
BLUR = (5, 5)  # sensor noise and JPEG blocks are smaller than this; people are much larger
FIT_STEP = 4  # the lighting fit samples every 4th pixel each way (1/16 of them)
FIT_ROUNDS = 3
GAIN_RANGE = (0.2, 5.0)  # beyond this the picture is not the same scene under other lights
CLIPPED = (5.0, 250.0)  # grey levels at the ends of the range are clipped: not linear


def _grey(image: Image) -> Image:
    if image.ndim == 2:
        return image
    channels = image.shape[2]
    if channels == 1:
        return image[:, :, 0]
    if channels == 3:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    if channels == 4:
        return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY), dtype=np.uint8)
    raise ValueError(f"an image has 1, 3 or 4 channels, not {channels}")


def _check_image(image: object, what: str) -> Image:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError(f"{what}: a uint8 numpy image expected, not {type(image).__name__}")
    if image.ndim not in (2, 3) or image.shape[0] < 8 or image.shape[1] < 8:
        raise ValueError(f"{what}: an image of at least 8×8 pixels expected, not {image.shape}")
    return image


def _blurred(grey: Image) -> Grey:
    return np.asarray(cv2.GaussianBlur(grey.astype(np.float32), BLUR, 0), dtype=np.float32)


def _detection_size(width: int, height: int) -> tuple[int, int]:
    if width <= DETECT_WIDTH:
        return width, height
    return DETECT_WIDTH, max(8, round(height * DETECT_WIDTH / width))


def _fit_lighting(reference: Grey, frame: Grey) -> tuple[float, float]:
    """Gain and offset with frame ≈ gain · reference + offset over the background.

    Starts from a pure offset (median difference), then least squares on the pixels that
    fit the current estimate: what changed for real (a person) drops out as outliers."""
    x = reference[::FIT_STEP, ::FIT_STEP].ravel()
    y = frame[::FIT_STEP, ::FIT_STEP].ravel()
    usable = (y > CLIPPED[0]) & (y < CLIPPED[1]) & (x > CLIPPED[0]) & (x < CLIPPED[1])
    if np.count_nonzero(usable) >= x.size // 10:
        x, y = x[usable], y[usable]
    gain, offset = 1.0, float(np.median(y - x))
    for _ in range(FIT_ROUNDS):
        residual = y - (gain * x + offset)
        spread = float(np.median(np.abs(residual - np.median(residual))))
        inliers = np.abs(residual) <= max(3.0 * 1.4826 * spread, 4.0)
        xs, ys = x[inliers], y[inliers]
        if xs.size < 16 or float(np.ptp(xs)) < 1.0:
            break  # a flat scene: the offset alone is all that can be known
        gain, offset = (float(v) for v in np.polyfit(xs, ys, 1))
        gain = min(max(gain, GAIN_RANGE[0]), GAIN_RANGE[1])
        offset = float(np.median(ys - gain * xs))
    return gain, offset


class PresenceDetector:
    """`score(frame)` is the fraction of the region that differs from the empty post."""

    def __init__(
        self, reference_bgr: Image, *, threshold: float, region: Region | None = None
    ) -> None:
        problems = region_problems(region)
        if not 0 < threshold < 1:
            problems.append(f"threshold: must be between 0 and 1 (exclusive), not {threshold}")
        if problems:
            raise ConfigError(problems)
        self._reference = _grey(_check_image(reference_bgr, "reference"))
        self.threshold = threshold
        self.region = region
        # The reference prepared for one frame size (a camera keeps its size, so one is enough).
        self._prepared_size: tuple[int, int] | None = None
        self._prepared: Grey = np.zeros((0, 0), dtype=np.float32)

    def _reference_at(self, size: tuple[int, int]) -> Grey:
        if self._prepared_size != size:
            scaled = cv2.resize(self._reference, size, interpolation=cv2.INTER_AREA)
            self._prepared = _blurred(np.asarray(scaled, dtype=np.uint8))
            self._prepared_size = size
        return self._prepared

    def _region_slices(self, width: int, height: int) -> tuple[slice, slice]:
        if self.region is None:
            return slice(0, height), slice(0, width)
        x, y, w, h = self.region
        left, top = min(int(x * width), width - 1), min(int(y * height), height - 1)
        right = max(left + 1, min(width, round((x + w) * width)))
        bottom = max(top + 1, min(height, round((y + h) * height)))
        return slice(top, bottom), slice(left, right)

    def score(self, frame_bgr: Image) -> float:
        grey = _grey(_check_image(frame_bgr, "frame"))
        size = _detection_size(grey.shape[1], grey.shape[0])
        if size != (grey.shape[1], grey.shape[0]):
            grey = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), np.uint8)
        frame = _blurred(grey)
        reference = self._reference_at(size)
        gain, offset = _fit_lighting(reference, frame)
        # Clipped like the camera clips, so a wall that saturates under the lights still matches.
        expected = np.clip(gain * reference + offset, 0.0, 255.0)
        rows, cols = self._region_slices(size[0], size[1])
        changed = np.abs(frame[rows, cols] - expected[rows, cols]) > PIXEL_LEVEL
        mask = changed.astype(np.uint8) * 255
        # Opening drops specks (noise, JPEG edges, a leaf) smaller than the kernel.
        side = max(3, (size[0] // 128) | 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
        opened = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        return float(np.count_nonzero(opened)) / float(mask.size)

    def is_present(self, frame_bgr: Image) -> tuple[bool, float]:
        value = self.score(frame_bgr)
        return value > self.threshold, value
