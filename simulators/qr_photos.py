"""Phone photos of a printed checkpoint poster, for testing the QR decoder.

`render_qr_photo(text, distortion, seed=...)` draws the poster (the QR code of `text` on
white paper with a margin and a title under it) on a textured corridor wall, then does to it
what a guard's phone does: perspective from holding the phone at an angle, rotation, blur
(defocus, shake), a dim and uneven light, sensor noise, JPEG compression. The numbers are
chosen here; the pixel work is in drivers/camera/qr_photo_ops.py (only drivers import cv2).

`DOCUMENTED_DISTORTIONS` is the range the decoder is promised to read (>= 95% of photos
decoded to exactly the tag; measured by `python -m bench.qr_decoding`, results and what
fails beyond in docs/qr-decoding.md). Every case changes one thing from `TYPICAL`: a phone
at arm's length (a module is 6 photo pixels: a signed tag's 45-module code, quiet zone
included, is ~270 px of a 1280x960 frame) in a corridor at 80% light, slightly tilted,
with a little blur and noise. The families:

- rotation: 0, 15, 45, 90, 170 degrees (the phone held any way up);
- perspective: 0.1, 0.15, 0.2 (the far edge of the poster 20, 30, 40% shorter than the
  near one: the phone held well off to the side of, or below, the poster);
- blur: Gaussian sigma 1.0, 1.5, 2.0 photo pixels (up to a third of a module: defocus,
  a shaking hand);
- light: 0.5, 0.3, 0.2 of full brightness with a 40% fall-off across the frame and the
  noise of a raised gain (sigma 6): a lamp at the far end of a dim corridor;
- noise: sigma 5, 8, 12 grey levels of luminance noise (high ISO);
- jpeg: quality 70, 60;
- scale: modules of 3.5 px (the code ~160 px wide: far away, or a small poster), 4 px and
  11 px (~500 px: close up); a full 4032x3024 photo (12 MP) with the code ~800 px wide;
- combined, everything at once, at two angles (30 and 120 degrees): perspective 0.15,
  blur 1.2, light 0.3 with fall-off, noise 6, quality 70, 5 px modules.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from drivers.camera.qr import encode_qr
from drivers.camera.qr_photo_ops import encode_jpeg, gaussian_blur, gray_to_bgr, resize, warp_onto
from gateway.errors import ConfigError

Pixels = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float64]
Floats32 = npt.NDArray[np.float32]

QUIET_MODULES = 4
MARGIN_MODULES = 3  # white paper around the quiet zone
PAPER = 238  # printer paper under corridor light is not pure white
PAPER_TINT = np.array([0.93, 0.98, 1.0])  # BGR: warm indoor light


@dataclass(frozen=True, slots=True)
class QrPhotoDistortion:
    rotation_deg: float = 0.0  # in the plane of the photo
    # The poster's far edge: its two corners each move in by this fraction of the edge (and
    # towards the near edge by half of it): 0.2 makes the far edge 40% shorter. 0..0.3.
    perspective: float = 0.0
    blur_sigma: float = 0.0  # Gaussian, in photo pixels
    light: float = 1.0  # brightness factor: 1.0 a lit room, 0.3 a dim corridor. 0.15..1.0
    shading: float = 0.0  # brightness falls by this fraction across the frame. 0..0.6
    noise_sigma: float = 0.0  # luminance noise after the light fell, in grey levels
    jpeg_quality: int = 90
    module_px: float = 6.0  # one QR module in the photo, in pixels: the distance
    photo_size: tuple[int, int] = (1280, 960)  # width, height

    def __post_init__(self) -> None:
        problems = [
            f"{name} {value} is outside {low}..{high}"
            for name, value, low, high in (
                ("perspective", self.perspective, 0.0, 0.35),
                ("blur_sigma", self.blur_sigma, 0.0, 20.0),
                ("light", self.light, 0.05, 1.5),
                ("shading", self.shading, 0.0, 0.9),
                ("noise_sigma", self.noise_sigma, 0.0, 64.0),
                ("jpeg_quality", self.jpeg_quality, 5, 100),
                ("module_px", self.module_px, 1.0, 60.0),
            )
            if not low <= value <= high
        ]
        width, height = self.photo_size
        if width < 64 or height < 64:
            problems.append(f"photo_size {self.photo_size} is too small")
        if problems:
            raise ConfigError(problems)


@dataclass(frozen=True, slots=True)
class DistortionCase:
    family: str  # what is varied: rotation, perspective, blur, light, noise, jpeg, scale...
    distortion: QrPhotoDistortion


TYPICAL = QrPhotoDistortion(
    rotation_deg=4.0,
    perspective=0.05,
    blur_sigma=0.6,
    light=0.8,
    shading=0.15,
    noise_sigma=3.0,
    jpeg_quality=85,
    module_px=6.0,
)


def _case(family: str, **changes: object) -> DistortionCase:
    return DistortionCase(family, replace(TYPICAL, **changes))  # type: ignore[arg-type]


DOCUMENTED_DISTORTIONS: tuple[DistortionCase, ...] = (
    *(_case("rotation", rotation_deg=angle) for angle in (0.0, 15.0, 45.0, 90.0, 170.0)),
    *(_case("perspective", perspective=p) for p in (0.1, 0.15, 0.2)),
    *(_case("blur", blur_sigma=sigma) for sigma in (1.0, 1.5, 2.0)),
    # A dim corridor: the phone raises its gain, so the noise grows as the light falls.
    *(_case("light", light=light, shading=0.4, noise_sigma=6.0) for light in (0.5, 0.3, 0.2)),
    *(_case("noise", noise_sigma=sigma) for sigma in (5.0, 8.0, 12.0)),
    *(_case("jpeg", jpeg_quality=quality) for quality in (70, 60)),
    *(_case("scale", module_px=px) for px in (3.5, 4.0, 11.0)),
    _case("scale", module_px=18.0, photo_size=(4032, 3024)),
    *(
        _case(
            "combined",
            rotation_deg=angle,
            perspective=0.15,
            blur_sigma=1.2,
            light=0.3,
            shading=0.4,
            noise_sigma=6.0,
            jpeg_quality=70,
            module_px=5.0,
        )
        for angle in (30.0, 120.0)
    ),
)


def photo_set(
    text: str, cases: Sequence[DistortionCase], seeds: int
) -> Iterator[tuple[DistortionCase, bytes]]:
    """`seeds` photos of each case, each with a seed of its own (the same on every run)."""
    for index, case in enumerate(cases):
        for number in range(seeds):
            yield case, render_qr_photo(text, case.distortion, seed=10_000 * index + number)


def render_qr_photo(text: str, distortion: QrPhotoDistortion, *, seed: int) -> bytes:
    """A JPEG photo of a poster with the QR code of `text`, taken as `distortion` says.

    The same text, distortion and seed give the same bytes.
    """
    rng = np.random.default_rng(seed)
    width, height = distortion.photo_size
    code_side = encode_qr(text, module_px=1, border_modules=QUIET_MODULES).shape[0]
    if code_side * distortion.module_px > 0.9 * min(width, height):
        raise ConfigError(
            [
                f"module_px {distortion.module_px}: the {code_side}-module code does not fit in "
                f"a {width}x{height} photo"
            ]
        )
    # Print finely enough that the camera, not the printer, sets the detail.
    printed_px = max(4, math.ceil(distortion.module_px * 2))
    poster, qr_centre = _poster(text, printed_px, rng)
    scale = distortion.module_px / printed_px
    corners = _corners(poster.shape[1], poster.shape[0], qr_centre, distortion, scale, rng)
    photo = warp_onto(_wall(width, height, rng), poster, corners.astype(np.float32))
    photo = gaussian_blur(photo, distortion.blur_sigma)
    return encode_jpeg(_exposed(photo, distortion, rng), distortion.jpeg_quality)


def _poster(text: str, module_px: int, rng: np.random.Generator) -> tuple[Pixels, Floats]:
    """The printed sheet (BGR) and where the centre of its QR code is on it."""
    qr = encode_qr(text, module_px=module_px, border_modules=QUIET_MODULES)
    side = qr.shape[0]
    margin = MARGIN_MODULES * module_px
    title = side // 3  # the checkpoint name and a line of small print under the code
    sheet = np.full((margin + side + title + margin, side + 2 * margin), 255, dtype=np.uint8)
    sheet[margin : margin + side, margin : margin + side] = qr
    _draw_text_blocks(sheet, margin, margin + side, side, title, rng)
    paper = sheet.astype(np.float64) * (PAPER / 255.0)
    coloured = gray_to_bgr(np.clip(paper, 0, 255).astype(np.uint8)).astype(np.float64)
    coloured *= PAPER_TINT
    centre = np.array([margin + side / 2, margin + side / 2])
    return np.clip(coloured, 0, 255).astype(np.uint8), centre


def _draw_text_blocks(
    sheet: Pixels, left: int, top: int, width: int, height: int, rng: np.random.Generator
) -> None:
    # Blocks the size of characters: dark shapes near the code that are not part of it.
    rows = ((0.12, 0.42, 0.16), (0.62, 0.78, 0.07))  # (top, bottom, character width) of a row
    for row_top, row_bottom, char_width in rows:
        y0, y1 = top + int(row_top * height), top + int(row_bottom * height)
        step = max(2, int(char_width * width))
        count = int(rng.integers(3, max(4, int(0.8 * width / step))))
        x = left + (width - count * step) // 2
        for _ in range(count):
            gap = max(1, step // 6)
            sheet[y0:y1, x + gap : x + step - gap] = int(rng.integers(0, 60))
            x += step


def _corners(
    width: int,
    height: int,
    qr_centre: Floats,
    distortion: QrPhotoDistortion,
    scale: float,
    rng: np.random.Generator,
) -> Floats:
    """Where the poster's corners land in the photo (top-left, top-right, bottom-right,
    bottom-left): tilted, scaled, turned, and the code near the middle of the frame."""
    sheet = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    sheet = _keystone(sheet - qr_centre, distortion.perspective, int(rng.integers(0, 4)))
    angle = math.radians(distortion.rotation_deg)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    placed = (sheet * scale) @ turn.T
    photo_width, photo_height = distortion.photo_size
    # People aim at the code but not exactly: up to 8% of the frame off centre.
    offset = rng.uniform(-0.08, 0.08, size=2) * np.array([photo_width, photo_height])
    centre = np.array([photo_width / 2, photo_height / 2]) + offset
    return np.asarray(placed + centre, dtype=np.float64)


def _keystone(corners: Floats, amount: float, far_side: int) -> Floats:
    """The quadrilateral of a sheet seen at an angle: the far side shorter and nearer."""
    out = corners.copy()
    a, b = far_side, (far_side + 1) % 4
    a_near, b_near = (far_side + 3) % 4, (far_side + 2) % 4
    out[a] += amount * (corners[b] - corners[a]) + amount / 2 * (corners[a_near] - corners[a])
    out[b] += amount * (corners[a] - corners[b]) + amount / 2 * (corners[b_near] - corners[b])
    return out


def _wall(width: int, height: int, rng: np.random.Generator) -> Pixels:
    """A corridor wall: grey, blotchy at large scale, grainy at small, with a door frame."""
    base = np.float32(rng.uniform(110, 170))
    blotches = rng.normal(128, 12, size=(6, 8))
    broad = resize(np.clip(blotches, 0, 255).astype(np.uint8), width, height)
    wall = broad.astype(np.float32) + (base - 128)
    # Grain of the paint: uniform noise is as good as Gaussian here and far cheaper to draw.
    wall += (rng.random(wall.shape, dtype=np.float32) - np.float32(0.5)) * np.float32(14.0)
    frame_x = int(rng.integers(0, width))
    wall[:, frame_x : frame_x + max(4, width // 60)] *= 0.55
    tint = (np.array([0.95, 1.0, 1.04]) * rng.uniform(0.95, 1.05, size=3)).astype(np.float32)
    return _to_pixels(wall[:, :, None] * tint)


def _exposed(photo: Pixels, distortion: QrPhotoDistortion, rng: np.random.Generator) -> Pixels:
    """The light falls (evenly by `light`, across the frame by `shading`), then the sensor
    adds its noise: in the dark the same noise is a larger part of the signal."""
    height, width = photo.shape[:2]
    direction = rng.uniform(0, 2 * math.pi)
    xs = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    ys = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    ramp = np.clip(xs * math.cos(direction) + ys * math.sin(direction) + 0.5, 0.0, 1.0)
    exposed = photo.astype(np.float32)
    exposed *= (distortion.light * (1.0 - distortion.shading * ramp))[:, :, None]
    if distortion.noise_sigma > 0:
        # Luminance noise, the same in the three channels: it all reaches the grey picture
        # the decoder reads (independent colour noise would partly average out there).
        noise = rng.standard_normal(size=(height, width), dtype=np.float32)
        noise *= np.float32(distortion.noise_sigma)
        exposed += noise[:, :, None]
    return _to_pixels(exposed)


def _to_pixels(values: Floats32) -> Pixels:
    return np.clip(values, 0, 255, out=values).astype(np.uint8)
