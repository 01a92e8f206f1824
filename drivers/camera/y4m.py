"""Y4M (YUV4MPEG2) video files: what Chromium plays as its camera with
`--use-fake-device-for-media-stream --use-file-for-fake-video-capture=FILE.y4m`, so that a
browser test can show the phone page a QR code. Chromium loops the frames."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from gateway.errors import GatewayError

Frame = npt.NDArray[np.uint8]  # BGR, height x width x 3


class VideoWriteFailed(GatewayError):
    """The frames cannot be written as a Y4M video (no frames, odd or changing size)."""


def write_y4m(path: Path, frames: Iterable[Frame], fps: int) -> int:
    """Write BGR frames as 4:2:0 Y4M at `fps`; return how many frames were written.

    Every frame must have the size of the first, with an even width and height (4:2:0
    keeps one chroma sample per 2x2 pixels).
    """
    if not 1 <= fps <= 240:
        raise VideoWriteFailed(f"fps {fps} must be from 1 to 240")
    try:
        count = _write(path, frames, fps)
    except BaseException:
        path.unlink(missing_ok=True)  # no half-written video for Chromium to choke on
        raise
    return count


def _write(path: Path, frames: Iterable[Frame], fps: int) -> int:
    count = 0
    size: tuple[int, int] | None = None
    with path.open("wb") as out:
        for frame in frames:
            height, width = _check(frame, count)
            if size is None:
                size = (width, height)
                out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
            elif size != (width, height):
                raise VideoWriteFailed(
                    f"frame {count} is {width}x{height}, the first was {size[0]}x{size[1]}"
                )
            # I420: the Y plane, then U and V at half resolution, as Y4M stores them.
            planes = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
            out.write(b"FRAME\n")
            out.write(np.ascontiguousarray(planes).tobytes())
            count += 1
    if count == 0:
        raise VideoWriteFailed("no frames to write")
    return count


def _check(frame: Frame, index: int) -> tuple[int, int]:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise VideoWriteFailed(
            f"frame {index}: expected a BGR uint8 picture, got {frame.dtype} {frame.shape}"
        )
    height, width = frame.shape[:2]
    if width % 2 or height % 2 or width < 2 or height < 2:
        raise VideoWriteFailed(f"frame {index} is {width}x{height}: width and height must be even")
    return height, width
