"""Cameras at gate posts: OpenCV presence detection as corroborating evidence of staffing.

A change of presence is stored as a `guard_on`/`guard_off` of the gate from the source
`camera`, with the snapshot that shows it. The staffing rule shows the camera beside the
judged sources and never lets it decide."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from drivers.camera import (
    CameraEvent,
    CameraLinkChanged,
    CameraPresenceWatcher,
    PresenceChanged,
    PresenceSettings,
)
from gateway.alerts import Alert, AlertKind, AlertOutbox
from gateway.context import GatewayContext
from gateway.domain import DeviceEvent, DeviceKind, DeviceRef, EventKind, Picture, Transport
from gateway.errors import ConfigError
from gateway.ingest.pipeline import IngestPipeline
from gateway.settings import Camera, Gate, Settings

log = logging.getLogger("gateway.camera")


@dataclass(frozen=True, slots=True)
class PostCamera:
    school_id: str
    gate: Gate
    camera: Camera

    @property
    def ref(self) -> DeviceRef:
        return DeviceRef(self.school_id, DeviceKind.GATE, self.gate.id)

    def presence_settings(self) -> PresenceSettings:
        presence = self.gate.presence
        return PresenceSettings(
            interval_s=presence.interval_s,
            timeout_s=presence.timeout_s,
            threshold=presence.threshold,
            confirm_frames=presence.confirm_frames,
            offline_after_failures=presence.offline_after_failures,
            reference_path=presence.reference,
            region=presence.region,
        )


def post_cameras(settings: Settings) -> list[PostCamera]:
    result = []
    for school in settings.schools:
        for gate in school.gates:
            if gate.camera is not None and (camera := school.camera(gate.camera)) is not None:
                result.append(PostCamera(school.id, gate, camera))
    return result


def presence_event(post: PostCamera, change: PresenceChanged) -> DeviceEvent:
    snapshot = change.snapshot
    return DeviceEvent(
        device=post.ref,
        kind=EventKind.GUARD_ON if change.present else EventKind.GUARD_OFF,
        message_id=f"cam-{post.camera.id}-{int(change.at.timestamp() * 1000)}",
        occurred_at=change.at,
        received_at=change.at,
        transport=Transport.CAMERA,
        topic=f"camera://{post.camera.id}",
        raw_payload=json.dumps(
            {"camera": post.camera.id, "present": change.present, "score": round(change.score, 4)},
            separators=(",", ":"),
        ),
        picture=Picture(
            camera_id=snapshot.camera_id,
            taken_at=snapshot.taken_at,
            content_type=snapshot.content_type,
            data=snapshot.data,
        ),
    )


class CameraIngest:
    def __init__(
        self, context: GatewayContext, pipeline: IngestPipeline, alerts: AlertOutbox
    ) -> None:
        self._context = context
        self._pipeline = pipeline
        self._alerts = alerts
        self._posts = post_cameras(context.settings)

    @property
    def configured(self) -> bool:
        return bool(self._posts)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for post in self._posts:
                group.create_task(self._watch(post), name=f"camera:{post.camera.id}")

    async def _watch(self, post: PostCamera) -> None:
        metrics = self._context.metrics
        metrics.camera_online.labels(post.camera.id).set(0)
        offline = False
        try:
            watcher = CameraPresenceWatcher(
                post.camera.id, post.camera.url, post.presence_settings()
            )
            async with watcher:
                async for event in watcher.events():
                    offline = await self._handle(post, event, offline)
        except ConfigError as exc:
            # One camera's bad reference picture must not stop the others (or the gateway):
            # the post is still judged by its sensors and check-ins.
            log.error(
                "camera %s at %s/%s: presence detection is off: %s",
                post.camera.id,
                post.school_id,
                post.gate.id,
                exc,
            )

    async def _handle(self, post: PostCamera, event: CameraEvent, offline: bool) -> bool:
        """Returns whether the camera is now offline (an alert was raised for it)."""
        if isinstance(event, PresenceChanged):
            await self._pipeline.submit([presence_event(post, event)])
            return offline
        assert isinstance(event, CameraLinkChanged)
        self._context.metrics.camera_online.labels(post.camera.id).set(1 if event.online else 0)
        if event.online == (not offline):
            return offline  # the first picture after a start: nothing was raised
        verb = "已恢复画面" if event.online else "无画面，已离线"
        await self._alerts.raise_alerts(
            [
                Alert(
                    school_id=post.school_id,
                    kind=AlertKind.DEVICE_ONLINE if event.online else AlertKind.DEVICE_OFFLINE,
                    subject_kind="camera",
                    subject_id=post.camera.id,
                    raised_at=event.at,
                    message=f"{post.gate.name}摄像头{post.camera.id}{verb}",
                    details={"detail": event.detail, "gate_id": post.gate.id},
                )
            ]
        )
        return not event.online
