"""One picture from a camera: `fetch_snapshot` (a JPEG to store or send to the police) and
`fetch_frame` (the same plus the decoded pixels, for presence detection).

http(s):// URLs are fetched with httpx (credentials in the URL answer a Digest or Basic
challenge, whichever the camera asks for); anything else (rtsp://, a file, a device) is read
with cv2.VideoCapture. Every failure is a `DeviceUnavailable` whose message says what went
wrong, without the password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

import cv2
import httpx
import numpy as np
import numpy.typing as npt

from drivers.camera.types import Snapshot
from gateway.errors import DeviceUnavailable

Image = npt.NDArray[np.uint8]

MAX_SNAPSHOT_SIDE = 1280  # snapshots fit in 1280×1280: detail enough, ~100-200 kB
JPEG_QUALITY = 80
MAX_IMAGE_BYTES = 20 * 1024 * 1024  # a camera picture is far smaller: more is not a picture
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})


@dataclass(frozen=True, slots=True)
class Capture:
    image: Image  # BGR, the pixels of the snapshot (already scaled down)
    snapshot: Snapshot


def describe_source(url: str) -> str:
    """The URL for messages and logs: a password in it is replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username or ''}:***@{host}").geturl()


def decode_image(data: bytes) -> Image:
    """Decode JPEG/PNG/... bytes to BGR pixels; DeviceUnavailable when they are no image."""
    if not data:
        raise DeviceUnavailable("empty image (0 bytes)")
    try:
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise DeviceUnavailable(f"not a decodable image ({len(data)} bytes): {exc}") from exc
    if image is None or image.size == 0:
        start = data[:16].decode("ascii", "replace")
        raise DeviceUnavailable(f"not a decodable image ({len(data)} bytes starting {start!r})")
    return np.asarray(image, dtype=np.uint8)


def shrink(image: Image, max_side: int = MAX_SNAPSHOT_SIDE) -> Image:
    height, width = image.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(image, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def encode_jpeg(image: Image, *, quality: int = JPEG_QUALITY) -> bytes:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise DeviceUnavailable(f"could not encode a {image.shape} image as JPEG")
    return encoded.tobytes()


def _capture(camera_id: str, image: Image, taken_at: datetime) -> Capture:
    small = shrink(image)
    snapshot = Snapshot(camera_id, taken_at, "image/jpeg", encode_jpeg(small))
    return Capture(small, snapshot)


def capture_from_bytes(camera_id: str, data: bytes, taken_at: datetime) -> Capture:
    """Decode, scale down and re-encode a picture (blocking: call it in a worker thread)."""
    return _capture(camera_id, decode_image(data), taken_at)


class CameraAuth(httpx.Auth):
    """Digest (what Hikvision and Dahua cameras ask for by default) or Basic, whichever the
    camera's challenge names. Once known, later requests answer it without a round trip."""

    def __init__(self, username: str, password: str) -> None:
        self._digest = httpx.DigestAuth(username, password)
        self._basic = httpx.BasicAuth(username, password)
        self._scheme: httpx.Auth | None = None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._scheme is not None:
            yield from self._scheme.auth_flow(request)
            return
        response = yield request
        if response.status_code != 401:
            return
        offered = [
            c.split(" ", 1)[0].lower() for c in response.headers.get_list("www-authenticate")
        ]
        if "digest" in offered:
            self._scheme = self._digest
            flow = self._digest.auth_flow(request)
            next(flow)  # its unauthenticated first try: the one just answered
            try:
                retry = flow.send(response)
            except StopIteration:
                return
            yield retry
        elif "basic" in offered:
            self._scheme = self._basic
            yield from self._basic.auth_flow(request)


def auth_from_url(url: str) -> CameraAuth | None:
    """The credentials written in the URL (user:password@host), None when there are none."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return None
    return CameraAuth(unquote(parts.username or ""), unquote(parts.password or ""))


async def _get_image_bytes(
    url: str, where: str, timeout_s: float, client: httpx.AsyncClient, auth: httpx.Auth | None
) -> bytes:
    async with client.stream(
        "GET", url, timeout=timeout_s, auth=auth or httpx.USE_CLIENT_DEFAULT
    ) as r:
        if r.status_code != 200:
            raise DeviceUnavailable(f"{where} answered HTTP {r.status_code} {r.reason_phrase}")
        content_type = r.headers.get("content-type", "").split(";")[0].strip().lower()
        # Some cameras say octet-stream or nothing; text (an error or login page) is no picture.
        if content_type and not content_type.startswith(("image/", "application/octet-stream")):
            raise DeviceUnavailable(f"{where} answered {content_type}, not an image")
        body = bytearray()
        async for chunk in r.aiter_bytes():
            body += chunk
            if len(body) > MAX_IMAGE_BYTES:
                raise DeviceUnavailable(f"{where} sent more than {MAX_IMAGE_BYTES} bytes")
        return bytes(body)


async def _fetch_http(
    camera_id: str,
    url: str,
    where: str,
    timeout_s: float,
    client: httpx.AsyncClient | None,
    auth: httpx.Auth | None,
) -> Capture:
    own = client is None
    http = httpx.AsyncClient() if client is None else client
    try:
        # httpx's timeout is per phase; this bounds the whole fetch (a trickling camera).
        async with asyncio.timeout(timeout_s):
            data = await _get_image_bytes(url, where, timeout_s, http, auth or auth_from_url(url))
    except TimeoutError as exc:
        raise DeviceUnavailable(f"{where}: no picture within {timeout_s:g} s") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        detail = str(exc) or "no detail"
        raise DeviceUnavailable(f"{where}: {type(exc).__name__}: {detail}") from exc
    finally:
        if own:
            await http.aclose()
    return await asyncio.to_thread(capture_from_bytes, camera_id, data, datetime.now(UTC))


def _read_file(camera_id: str, path: Path) -> Capture:
    taken_at = datetime.now(UTC)
    try:
        with path.open("rb") as file:
            data = file.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise DeviceUnavailable(f"{path}: {exc.strerror or exc}") from exc
    if len(data) > MAX_IMAGE_BYTES:
        raise DeviceUnavailable(f"{path}: larger than {MAX_IMAGE_BYTES} bytes")
    return capture_from_bytes(camera_id, data, taken_at)


def _grab_with_opencv(camera_id: str, source: str, where: str, timeout_s: float) -> Capture:
    # OpenCV's own timeouts (FFmpeg backend) end the worker thread too; asyncio.timeout
    # around the call only stops the wait for it.
    ms = max(1, int(timeout_s * 1000))
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
    try:
        capture = cv2.VideoCapture(source, cv2.CAP_ANY, params)
    except cv2.error as exc:
        raise DeviceUnavailable(f"{where}: OpenCV cannot open it: {exc}") from exc
    try:
        if not capture.isOpened():
            raise DeviceUnavailable(f"{where}: OpenCV could not open it")
        ok, frame = capture.read()
        taken_at = datetime.now(UTC)
        if not ok or frame is None or frame.size == 0:
            raise DeviceUnavailable(f"{where}: opened, but gave no frame")
    except cv2.error as exc:
        raise DeviceUnavailable(f"{where}: OpenCV failed to read a frame: {exc}") from exc
    finally:
        capture.release()
    return _capture(camera_id, np.asarray(frame, dtype=np.uint8), taken_at)


def _local_path(url: str) -> Path | None:
    """The file a URL names (a plain path or file://), None for network and device sources."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    if "://" in url:
        return None
    return Path(url)


async def fetch_frame(
    camera_id: str,
    url: str,
    *,
    timeout_s: float,
    client: httpx.AsyncClient | None = None,
    auth: httpx.Auth | None = None,
) -> Capture:
    """One picture, decoded and re-encoded. `client`/`auth`: reuse a connection and a
    Digest challenge across calls (the watcher does); by default a fresh one per call."""
    where = describe_source(url)
    if not url.strip():
        raise DeviceUnavailable(f"camera {camera_id}: no URL")
    if url.lower().startswith(("http://", "https://")):
        return await _fetch_http(camera_id, url, where, timeout_s, client, auth)
    path = _local_path(url)
    try:
        async with asyncio.timeout(timeout_s):
            if path is not None and path.suffix.lower() in IMAGE_SUFFIXES:
                return await asyncio.to_thread(_read_file, camera_id, path)
            if path is not None and not path.exists():
                raise DeviceUnavailable(f"{where}: no such file or device")
            source = str(path) if path is not None else url
            return await asyncio.to_thread(_grab_with_opencv, camera_id, source, where, timeout_s)
    except TimeoutError as exc:
        raise DeviceUnavailable(f"{where}: no picture within {timeout_s:g} s") from exc


async def fetch_snapshot(
    camera_id: str,
    url: str,
    *,
    timeout_s: float,
    client: httpx.AsyncClient | None = None,
    auth: httpx.Auth | None = None,
) -> Snapshot:
    """A JPEG from the camera (at most 1280 px a side, quality 80). DeviceUnavailable when
    the camera does not answer, answers with no picture, or not within `timeout_s`."""
    capture = await fetch_frame(camera_id, url, timeout_s=timeout_s, client=client, auth=auth)
    return capture.snapshot
