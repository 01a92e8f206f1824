"""Snapshots from local sources and the pieces of a snapshot (no network here)."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import numpy as np
import pytest

from drivers.camera import fetch_snapshot
from drivers.camera.snapshots import (
    MAX_SNAPSHOT_SIDE,
    decode_image,
    describe_source,
    encode_jpeg,
    fetch_frame,
    shrink,
)
from gateway.errors import DeviceUnavailable
from simulators.camera import CameraOptions, render


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://cam/snap.jpg", "http://cam/snap.jpg"),
        ("http://admin:s3cret@10.0.0.9/ISAPI/x", "http://admin:***@10.0.0.9/ISAPI/x"),
        ("rtsp://admin:p%40ss@10.0.0.9:554/h264", "rtsp://admin:***@10.0.0.9:554/h264"),
        ("rtsp://viewer@10.0.0.9/live", "rtsp://viewer@10.0.0.9/live"),
        ("/var/lib/campus/post.jpg", "/var/lib/campus/post.jpg"),
    ],
)
def test_passwords_never_reach_messages(url: str, shown: str) -> None:
    assert describe_source(url) == shown


@pytest.mark.parametrize(
    ("size", "expected"),
    [((640, 480), (640, 480)), ((1920, 1080), (1280, 720)), ((1080, 1920), (720, 1280))],
)
def test_snapshots_fit_in_1280_pixels(size: tuple[int, int], expected: tuple[int, int]) -> None:
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    small = shrink(image)
    assert (small.shape[1], small.shape[0]) == expected
    assert max(small.shape[:2]) <= MAX_SNAPSHOT_SIDE


def test_jpeg_round_trip() -> None:
    image = render(CameraOptions(), present=True)
    data = encode_jpeg(image)
    assert data[:3] == b"\xff\xd8\xff"
    assert 10_000 < len(data) < 200_000
    assert decode_image(data).shape == image.shape


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"", "empty image"),
        (b"<html>login</html>", "not a decodable image (18 bytes starting '<html>login</ht"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "not a decodable image (44 bytes"),
    ],
)
def test_undecodable_data_is_a_readable_failure(data: bytes, detail: str) -> None:
    with pytest.raises(DeviceUnavailable) as caught:
        decode_image(data)
    assert detail in str(caught.value)


async def test_a_jpeg_file_is_a_source(tmp_path: Path) -> None:
    path = tmp_path / "post.jpg"
    path.write_bytes(
        encode_jpeg(np.kron(render(CameraOptions(), present=False), np.ones((4, 4, 1), np.uint8)))
    )
    for url in (str(path), f"file://{path}"):
        capture = await fetch_frame("cam-1", url, timeout_s=5)
        snapshot = capture.snapshot
        assert snapshot.camera_id == "cam-1" and snapshot.content_type == "image/jpeg"
        assert snapshot.taken_at.tzinfo is UTC
        assert decode_image(snapshot.data).shape == (960, 1280, 3)  # 2560×1920, scaled down
        assert capture.image.shape == (960, 1280, 3)


@pytest.mark.parametrize(
    ("name", "content", "detail"),
    [
        ("missing.jpg", None, "No such file"),
        ("broken.jpg", b"GIF89a not really", "not a decodable image"),
        ("missing-video.mp4", None, "no such file or device"),
        ("garbage.avi", b"\x00" * 300, "OpenCV could not open it"),
    ],
)
async def test_bad_local_sources_are_readable_failures(
    tmp_path: Path, name: str, content: bytes | None, detail: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DeviceUnavailable, match=detail):
        await fetch_snapshot("cam-1", str(path), timeout_s=5)


async def test_no_url_is_a_readable_failure() -> None:
    with pytest.raises(DeviceUnavailable, match="no URL"):
        await fetch_snapshot("cam-1", " ", timeout_s=1)
