"""Y4M files for Chromium's fake camera."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from drivers.camera.y4m import VideoWriteFailed, write_y4m


def _frame(width: int, height: int, value: int) -> np.ndarray:
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_frames_are_written_as_4_2_0(tmp_path: Path) -> None:
    path = tmp_path / "camera.y4m"
    frames = [_frame(64, 48, 0), _frame(64, 48, 128), _frame(64, 48, 255)]
    assert write_y4m(path, frames, fps=15) == 3
    data = path.read_bytes()
    header = b"YUV4MPEG2 W64 H48 F15:1 Ip A1:1 C420jpeg\n"
    assert data.startswith(header)
    frame_bytes = 64 * 48 * 3 // 2
    assert len(data) == len(header) + 3 * (len(b"FRAME\n") + frame_bytes)
    body = data[len(header) :]
    lumas = []
    for index in range(3):
        start = index * (6 + frame_bytes)
        assert body[start : start + 6] == b"FRAME\n"
        y_plane = np.frombuffer(body[start + 6 : start + 6 + 64 * 48], dtype=np.uint8)
        chroma = np.frombuffer(body[start + 6 + 64 * 48 : start + 6 + frame_bytes], np.uint8)
        lumas.append(int(y_plane.mean()))
        assert abs(int(chroma.mean()) - 128) <= 2  # grey has no colour
    assert lumas[0] < 30 < lumas[1] < 200 < lumas[2]


def test_a_generator_of_frames_is_enough(tmp_path: Path) -> None:
    path = tmp_path / "camera.y4m"
    assert write_y4m(path, (_frame(32, 32, v) for v in range(10)), fps=30) == 10


@pytest.mark.parametrize(
    ("frames", "words"),
    [
        ([], "no frames"),
        ([_frame(63, 48, 0)], "must be even"),
        ([_frame(64, 48, 0), _frame(64, 50, 0)], "the first was 64x48"),
        ([np.zeros((48, 64), dtype=np.uint8)], "BGR uint8"),
        ([np.zeros((48, 64, 3), dtype=np.float32)], "BGR uint8"),
    ],
    ids=["none", "odd", "size-changes", "grey", "float"],
)
def test_bad_frames_leave_no_file(tmp_path: Path, frames: list[np.ndarray], words: str) -> None:
    path = tmp_path / "camera.y4m"
    with pytest.raises(VideoWriteFailed, match=words):
        write_y4m(path, frames, fps=15)
    assert not path.exists()


def test_the_frame_rate_is_checked(tmp_path: Path) -> None:
    with pytest.raises(VideoWriteFailed, match="fps"):
        write_y4m(tmp_path / "camera.y4m", [_frame(32, 32, 0)], fps=0)
