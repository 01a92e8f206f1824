"""Writing a video file (MJPG in AVI, which every OpenCV build reads back): for the simulated
camera, whose generated video stands in for a real camera's stream."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from gateway.errors import DeviceUnavailable


def write_video(
    path: Path, frames: Iterable[npt.NDArray[np.uint8]], *, fps: float, size: tuple[int, int]
) -> int:
    """Write BGR frames of `size` (width, height) to `path`; returns how many. Blocking: call
    it in a thread from async code."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise DeviceUnavailable(f"cannot write a video to {path}")
    count = 0
    try:
        for frame in frames:
            writer.write(frame)
            count += 1
    finally:
        writer.release()
    return count
