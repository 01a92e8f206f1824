"""A simulated gate-post camera: an HTTP snapshot server like an IP camera's.

`GET /snapshot.jpg` is the current scene (a booth and a gate, a guard when present, sensor
noise, the lights' gain); `GET /reference.jpg` is the empty post. Tests set the scene with
`PUT /presence {"present": true}` and `PUT /lights {"gain": 1.6}`, or pass `presence_at(t)`
(t: seconds since start) to follow a script such as the gate panel's guard. With
`credentials` it asks for HTTP Digest, as Hikvision and Dahua cameras do by default.
The picture is drawn with numpy; JPEG encoding is the camera driver's (only drivers use cv2).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from drivers.camera.snapshots import encode_jpeg
from drivers.camera.video import write_video
from simulators.http import listen, serve_asgi

Image = npt.NDArray[np.uint8]
REALM = "campus-camera"
SENSOR_NOISE = 3.0  # grey levels of per-frame noise, like a decent camera in daylight


@dataclass(frozen=True, slots=True)
class CameraOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port, read it from `SimulatedCamera.port` once ready
    seed: int = 7  # the same seed draws the same post
    present: bool = False
    lights: float = 1.0  # global gain of the scene: 1.6 is the lights on, 0.6 dusk
    presence_at: Callable[[float], bool] | None = None  # scripted presence; PUT is refused
    credentials: tuple[str, str] | None = None  # (user, password) asked for with Digest
    width: int = 640
    height: int = 480


def _ellipse(h: int, w: int, cx: float, cy: float, rx: float, ry: float) -> npt.NDArray[np.bool_]:
    ys, xs = np.ogrid[:h, :w]
    return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0


def draw_post(options: CameraOptions) -> npt.NDArray[np.float32]:
    """The empty post (BGR, float): wall, ground, a booth with a window, a barred gate,
    and a fixed texture so the background is not trivially flat."""
    h, w, rng = options.height, options.width, np.random.default_rng(options.seed)
    scene = np.empty((h, w, 3), np.float32)
    scene[:] = (150, 160, 165)  # wall
    scene[: h // 4] = (205, 185, 160)  # sky
    scene[int(h * 0.8) :] = (95, 100, 105)  # pavement
    bx0, bx1, by0, by1 = int(w * 0.6), int(w * 0.93), int(h * 0.25), int(h * 0.85)
    scene[by0:by1, bx0:bx1] = (200, 215, 225)  # booth
    scene[int(h * 0.33) : int(h * 0.52), int(w * 0.65) : int(w * 0.88)] = (120, 90, 60)
    for x in range(int(w * 0.03), int(w * 0.5), max(4, w // 26)):  # gate bars
        scene[int(h * 0.42) : int(h * 0.8), x : x + max(2, w // 100)] = (60, 60, 65)
    coarse = rng.normal(0.0, 12.0, (h // 16 + 1, w // 16 + 1)).astype(np.float32)
    texture = np.repeat(np.repeat(coarse, 16, axis=0), 16, axis=1)[:h, :w]
    texture += rng.normal(0.0, 5.0, (h, w)).astype(np.float32)
    return scene + texture[:, :, None]


def draw_guard(scene: npt.NDArray[np.float32], at: float = 0.47) -> npt.NDArray[np.float32]:
    """A standing guard in a dark uniform, centred at `at` of the width, ~8% of the frame."""
    h, w = scene.shape[:2]
    out, cx, s = scene.copy(), w * at, h / 480
    out[_ellipse(h, w, cx, h * 0.58, 70 * s, 110 * s)] = (90, 50, 40)  # body
    out[_ellipse(h, w, cx, h * 0.36, 34 * s, 38 * s)] = (120, 150, 200)  # head
    ys, xs = np.ogrid[:h, :w]
    legs = (ys >= h * 0.7) & (ys < h * 0.92) & (np.abs(np.abs(xs - cx) - 22 * s) < 13 * s)
    out[legs] = (70, 45, 40)
    return out


def render(
    options: CameraOptions,
    *,
    present: bool,
    lights: float = 1.0,
    frame: int = 0,
    post: npt.NDArray[np.float32] | None = None,
) -> Image:
    """One camera frame: the scene under the lights plus this frame's sensor noise
    (`post`: `draw_post(options)` if already drawn)."""
    scene = draw_post(options) if post is None else post
    if present:
        scene = draw_guard(scene)
    noise = np.random.default_rng((options.seed, frame)).normal(0.0, SENSOR_NOISE, scene.shape)
    return np.asarray(np.clip(scene * lights + noise, 0, 255), dtype=np.uint8)


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


class SimulatedCamera:
    def __init__(self, options: CameraOptions) -> None:
        self.options = options
        self.present = options.present
        self.lights = options.lights
        self.port = options.port
        self.frames = 0  # snapshots served
        self._started = time.monotonic()
        self._nonce = secrets.token_hex(16)
        self._post: npt.NDArray[np.float32] | None = None  # drawn once, at the first frame

    def present_now(self) -> bool:
        script = self.options.presence_at
        return script(time.monotonic() - self._started) if script else self.present

    def _authorized(self, request: Request) -> bool:
        if self.options.credentials is None:
            return True
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("digest "):
            return False
        f = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
        user, password = self.options.credentials
        ha1, ha2 = md5(f"{user}:{REALM}:{password}"), md5(f"{request.method}:{f.get('uri')}")
        parts = [ha1, f.get("nonce"), f.get("nc"), f.get("cnonce"), f.get("qop"), ha2]
        expected = md5(":".join(str(p) for p in parts))
        ok = hmac.compare_digest(expected, f.get("response", ""))
        return ok and f.get("username") == user and f.get("nonce") == self._nonce

    def _challenge(self) -> Response:
        challenge = f'Digest realm="{REALM}", qop="auth", nonce="{self._nonce}", algorithm=MD5'
        return Response(status_code=401, headers={"WWW-Authenticate": challenge})

    async def _jpeg(self, request: Request, *, present: bool, lights: float) -> Response:
        if not self._authorized(request):
            return self._challenge()
        self.frames += 1
        if self._post is None:
            self._post = await asyncio.to_thread(draw_post, self.options)
        draw = partial(
            render, self.options, present=present, lights=lights, frame=self.frames, post=self._post
        )
        data = await asyncio.to_thread(lambda: encode_jpeg(draw(), quality=90))
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})

    async def snapshot(self, request: Request) -> Response:
        return await self._jpeg(request, present=self.present_now(), lights=self.lights)

    async def reference(self, request: Request) -> Response:
        return await self._jpeg(request, present=False, lights=self.options.lights)

    async def _put(self, request: Request, key: str, kind: type) -> tuple[object, Response | None]:
        if not self._authorized(request):
            return None, self._challenge()
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            body = None
        value = body.get(key) if isinstance(body, dict) else None
        if type(value) is not kind and not (kind is float and type(value) is int):
            example = "true" if kind is bool else "1.5"
            problem = {"error": f'expected a JSON body {{"{key}": {example}}}'}
            return None, JSONResponse(problem, status_code=422)
        return value, None

    async def set_presence(self, request: Request) -> Response:
        if self.options.presence_at is not None:
            return JSONResponse({"error": "presence follows a script here"}, status_code=409)
        value, refused = await self._put(request, "present", bool)
        if refused is not None:
            return refused
        self.present = bool(value)
        return JSONResponse({"present": self.present})

    async def set_lights(self, request: Request) -> Response:
        value, refused = await self._put(request, "gain", float)
        if refused is not None:
            return refused
        gain = float(value)  # type: ignore[arg-type]
        if not 0 < gain <= 4:
            return JSONResponse({"error": "gain must be in (0, 4]"}, status_code=422)
        self.lights = gain
        return JSONResponse({"gain": self.lights})

    async def index(self, request: Request) -> Response:
        # A real camera's web page: what a snapshot URL missing its path gets (200, HTML).
        return HTMLResponse("<html><body><h1>Network Camera</h1>Please log in.</body></html>")

    def asgi_app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.index, methods=["GET"]),
                Route("/snapshot.jpg", self.snapshot, methods=["GET"]),
                Route("/reference.jpg", self.reference, methods=["GET"]),
                Route("/presence", self.set_presence, methods=["PUT"]),
                Route("/lights", self.set_lights, methods=["PUT"]),
            ]
        )


async def serve_camera(
    options: CameraOptions,
    *,
    camera: SimulatedCamera | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Serve the camera until cancelled; `ready` is set once it accepts connections."""
    cam = camera if camera is not None else SimulatedCamera(options)
    sock = listen(options.host, options.port, "camera")
    cam.port = int(sock.getsockname()[1])
    try:
        await serve_asgi(cam.asgi_app(), sock, name="camera-http", ready=ready)
    finally:
        sock.close()


def write_camera_video(
    path: Path, options: CameraOptions, *, seconds: float, fps: float = 5.0
) -> int:
    """A generated video of the post (a guard present per `options.presence_at`, or
    `options.present`): a file any OpenCV source reads, for the demo and tests that want a
    camera "stream" rather than snapshots. Blocking."""
    post = draw_post(options)

    def frames() -> Iterator[Image]:
        for index in range(max(1, int(seconds * fps))):
            script = options.presence_at
            present = script(index / fps) if script else options.present
            yield render(options, present=present, lights=options.lights, frame=index, post=post)

    return write_video(path, frames(), fps=fps, size=(options.width, options.height))
