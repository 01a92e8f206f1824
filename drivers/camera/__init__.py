"""Gate-post cameras: snapshots and presence at the post (the only code that imports cv2)."""

from drivers.camera.presence import PresenceDetector
from drivers.camera.snapshots import fetch_snapshot
from drivers.camera.types import (
    CameraEvent,
    CameraLinkChanged,
    PresenceChanged,
    PresenceSettings,
    Snapshot,
)
from drivers.camera.watcher import CameraPresenceWatcher

__all__ = [
    "CameraEvent",
    "CameraLinkChanged",
    "CameraPresenceWatcher",
    "PresenceChanged",
    "PresenceDetector",
    "PresenceSettings",
    "Snapshot",
    "fetch_snapshot",
]
