"""Events and settings of the camera driver (no cv2 here: the gateway imports these)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from gateway.errors import ConfigError

Region = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Snapshot:
    camera_id: str
    taken_at: datetime  # aware UTC
    content_type: str  # "image/jpeg"
    data: bytes  # re-encoded: at most MAX_SNAPSHOT_WIDTH px wide, small enough to store and send


@dataclass(frozen=True, slots=True)
class PresenceChanged:
    camera_id: str
    present: bool
    at: datetime  # aware UTC
    score: float  # fraction of the watched region that differs from the empty post, 0..1
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class CameraLinkChanged:
    camera_id: str
    online: bool
    detail: str
    at: datetime  # aware UTC


CameraEvent = PresenceChanged | CameraLinkChanged


def region_problems(region: Region | None) -> list[str]:
    """What is wrong with a region (x, y, w, h as fractions of the frame); empty if valid."""
    if region is None:
        return []
    if len(region) != 4 or not all(math.isfinite(v) for v in region):
        return [f"region: four finite fractions (x, y, w, h) expected, not {region!r}"]
    x, y, w, h = region
    problems = []
    if not (0 <= x < 1 and 0 <= y < 1):
        problems.append(f"region: x and y must be in [0, 1), not {x}, {y}")
    if not (w > 0 and h > 0):
        problems.append(f"region: w and h must be positive, not {w}, {h}")
    # A little slack: fractions written by hand (0.7 + 0.3) do not add up exactly.
    if x + w > 1 + 1e-6 or y + h > 1 + 1e-6:
        problems.append(f"region: {region!r} reaches outside the frame (x + w, y + h <= 1)")
    return problems


@dataclass(frozen=True, slots=True)
class PresenceSettings:
    interval_s: float = 2.0  # how often a frame is taken
    timeout_s: float = 5.0  # per fetch
    threshold: float = 0.02  # foreground fraction above which someone is present
    confirm_frames: int = 2  # consecutive agreeing frames needed to change state (debounce)
    offline_after_failures: int = 3
    # JPEG of the empty post; None = the first frame is taken as the empty post (logged).
    reference_path: str | None = None
    # x, y, w, h as fractions of the frame: the post; None = the whole frame.
    region: Region | None = None

    def __post_init__(self) -> None:
        problems = region_problems(self.region)
        if not (math.isfinite(self.interval_s) and self.interval_s > 0):
            problems.append(f"interval_s: must be positive, not {self.interval_s}")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            problems.append(f"timeout_s: must be positive, not {self.timeout_s}")
        if not 0 < self.threshold < 1:
            problems.append(f"threshold: must be between 0 and 1 (exclusive), not {self.threshold}")
        if self.confirm_frames < 1:
            problems.append(f"confirm_frames: must be at least 1, not {self.confirm_frames}")
        if self.offline_after_failures < 1:
            problems.append(
                f"offline_after_failures: must be at least 1, not {self.offline_after_failures}"
            )
        if problems:
            raise ConfigError(problems)
