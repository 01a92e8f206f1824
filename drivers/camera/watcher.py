"""The camera driver: a frame every `interval_s`, presence at the post judged against the
empty post, as events.

`async with CameraPresenceWatcher(camera_id, url, settings) as w:
    async for event in w.events(): ...`

Events: `CameraLinkChanged(online=True)` at the first picture and at every recovery,
`CameraLinkChanged(online=False)` after `offline_after_failures` failed fetches in a row;
`PresenceChanged` for the first state confirmed by `confirm_frames` agreeing frames (at start
and again after an outage, when the old state is no longer known) and for every confirmed
change after that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import httpx

from drivers.camera.presence import Image, PresenceDetector
from drivers.camera.snapshots import (
    Capture,
    auth_from_url,
    capture_from_bytes,
    describe_source,
    fetch_frame,
)
from drivers.camera.types import (
    CameraEvent,
    CameraLinkChanged,
    PresenceChanged,
    PresenceSettings,
)
from gateway.errors import ConfigError, DeviceUnavailable

log = logging.getLogger("drivers.camera")


@dataclass(frozen=True, slots=True)
class _Observation:
    capture: Capture
    present: bool
    score: float


def _load_reference(camera_id: str, path: str) -> Image:
    try:
        data = Path(path).read_bytes()
        return capture_from_bytes(camera_id, data, datetime.now(UTC)).image
    except OSError as exc:
        problem = exc.strerror or str(exc)
    except DeviceUnavailable as exc:
        problem = str(exc)
    raise ConfigError([f"camera {camera_id}: reference_path {path}: {problem}"])


class CameraPresenceWatcher:
    """Polls one camera; see the module docstring for the events."""

    def __init__(self, camera_id: str, url: str, settings: PresenceSettings) -> None:
        self.camera_id = camera_id
        self.url = url
        self.settings = settings
        self._where = describe_source(url)
        self._client: httpx.AsyncClient | None = None
        # One auth per camera: a Digest challenge, once answered, is reused (no extra 401).
        self._auth = auth_from_url(url)
        self._detector: PresenceDetector | None = None

    async def __aenter__(self) -> CameraPresenceWatcher:
        path = self.settings.reference_path
        if path is not None:
            reference = await asyncio.to_thread(_load_reference, self.camera_id, path)
            self._detector = self._make_detector(reference)
        self._client = httpx.AsyncClient(timeout=self.settings.timeout_s)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    def _make_detector(self, reference: Image) -> PresenceDetector:
        return PresenceDetector(
            reference, threshold=self.settings.threshold, region=self.settings.region
        )

    async def _observe(self) -> _Observation:
        """One frame, judged. Raises DeviceUnavailable (or, on a bug, anything else)."""
        assert self._client is not None
        capture = await fetch_frame(
            self.camera_id,
            self.url,
            timeout_s=self.settings.timeout_s,
            client=self._client,
            auth=self._auth,
        )
        if self._detector is None:
            log.warning(
                "camera %s: no reference image of the empty post configured; taking this "
                "first frame as the empty post (if someone is at the post now, presence "
                "will read inverted until a reference_path is set)",
                self.camera_id,
            )
            self._detector = self._make_detector(capture.image)
        present, score = await asyncio.to_thread(self._detector.is_present, capture.image)
        return _Observation(capture, present, score)

    async def events(self) -> AsyncIterator[CameraEvent]:
        """Events until cancelled; nothing else ends it (faults become CameraLinkChanged)."""
        if self._client is None:
            raise RuntimeError("use CameraPresenceWatcher as `async with` before events()")
        s = self.settings
        loop = asyncio.get_running_loop()
        online: bool | None = None  # None: not known yet (nothing fetched, nothing failed enough)
        failures = 0
        reported: bool | None = None  # the presence last emitted; None: not known
        candidate: bool | None = None
        streak = 0
        next_at = loop.time()
        while True:
            # Fixed rate, but never a burst to catch up after a slow fetch.
            next_at = max(next_at + s.interval_s, loop.time())
            try:
                seen = await self._observe()
            except Exception as exc:  # any fault is a failed fetch: the driver must go on
                if not isinstance(exc, DeviceUnavailable):
                    if failures == 0:  # once per fault, with the traceback: this is a bug
                        log.exception("camera %s: unexpected failure", self.camera_id)
                    exc = DeviceUnavailable(f"{self._where}: {type(exc).__name__}: {exc}")
                failures += 1
                log.debug("camera %s: fetch %d failed: %s", self.camera_id, failures, exc)
                if failures >= s.offline_after_failures and online is not False:
                    online, reported, candidate, streak = False, None, None, 0
                    detail = f"{failures} fetches failed in a row; last: {exc}"
                    log.error("camera %s offline: %s", self.camera_id, detail)
                    yield CameraLinkChanged(self.camera_id, False, detail, datetime.now(UTC))
            else:
                failures = 0
                if online is not True:
                    if online is False:
                        log.warning("camera %s back online (%s)", self.camera_id, self._where)
                    else:
                        log.info("camera %s online (%s)", self.camera_id, self._where)
                    online = True
                    yield CameraLinkChanged(
                        self.camera_id, True, f"picture from {self._where}", datetime.now(UTC)
                    )
                if seen.present == candidate:
                    streak += 1
                else:
                    candidate, streak = seen.present, 1
                if streak >= s.confirm_frames and candidate != reported:
                    reported = candidate
                    snapshot = seen.capture.snapshot
                    yield PresenceChanged(
                        self.camera_id, seen.present, snapshot.taken_at, seen.score, snapshot
                    )
            await asyncio.sleep(max(0.0, next_at - loop.time()))
