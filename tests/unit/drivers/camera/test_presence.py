"""The presence detector on synthetic frames of the simulated post (real OpenCV)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from drivers.camera.presence import PresenceDetector
from drivers.camera.snapshots import decode_image, encode_jpeg, shrink
from gateway.errors import ConfigError
from simulators.camera import CameraOptions, draw_guard, draw_post, render

Image = npt.NDArray[np.uint8]
OPTIONS = CameraOptions(seed=7)
POST = draw_post(OPTIONS)
THRESHOLD = 0.02


def frame(*, present: bool = False, lights: float = 1.0, number: int = 1) -> Image:
    return render(OPTIONS, present=present, lights=lights, frame=number, post=POST)


def jpeg(image: Image, quality: int = 80) -> Image:
    return decode_image(encode_jpeg(image, quality=quality))


def reference() -> Image:
    return jpeg(frame(number=0), quality=90)  # like /reference.jpg: one noisy frame, as JPEG


def with_noise(image: Image, sigma: float, seed: int = 3) -> Image:
    noisy = image + np.random.default_rng(seed).normal(0.0, sigma, image.shape)
    return np.asarray(np.clip(noisy, 0, 255), dtype=np.uint8)


def gain_offset(image: Image, gain: float, offset: float) -> Image:
    return np.asarray(np.clip(image * gain + offset, 0, 255), dtype=np.uint8)


def with_bird(image: Image) -> Image:
    """A small dark thing (a bird on the railing, a leaf): far less than a person."""
    out = image.copy()
    out[100:112, 60:74] = 20
    return out


def guard_at(at: float) -> Image:
    """The guard standing elsewhere in the picture (at `at` of the width)."""
    return render(OPTIONS, present=False, frame=2, post=draw_guard(POST, at=at))


EMPTY: list[tuple[str, Callable[[], Image]]] = [
    ("another empty frame", lambda: frame(number=5)),
    ("same frame as JPEG q40", lambda: jpeg(frame(number=6), quality=40)),
    ("lights on (gain 1.6)", lambda: frame(lights=1.6)),
    ("lights on, walls saturate (gain 2.2)", lambda: frame(lights=2.2)),
    ("dusk (gain 0.55)", lambda: frame(lights=0.55)),
    ("gain and offset (1.2, +30)", lambda: gain_offset(frame(), 1.2, 30)),
    ("darker with offset (0.8, -15)", lambda: gain_offset(frame(), 0.8, -15)),
    ("sensor noise sigma 8", lambda: with_noise(frame(), 8)),
    ("sensor noise sigma 15", lambda: with_noise(frame(), 15)),
    ("a bird on the railing", lambda: with_bird(frame())),
    ("1920 px wide camera", lambda: jpeg(np.kron(frame(), np.ones((3, 3, 1), np.uint8)))),
]

PERSON: list[tuple[str, Callable[[], Image]]] = [
    ("guard at the post", lambda: frame(present=True)),
    ("guard, JPEG q40", lambda: jpeg(frame(present=True), quality=40)),
    ("guard, lights on", lambda: frame(present=True, lights=1.6)),
    ("guard, dusk", lambda: frame(present=True, lights=0.6)),
    ("guard, noise sigma 10", lambda: with_noise(frame(present=True), 10)),
    ("guard, scaled down", lambda: shrink(frame(present=True), 320)),
]


@pytest.mark.parametrize(("name", "make"), EMPTY, ids=[n for n, _ in EMPTY])
def test_no_one_at_the_post(name: str, make: Callable[[], Image]) -> None:
    present, score = PresenceDetector(reference(), threshold=THRESHOLD).is_present(make())
    assert not present, f"{name}: score {score:.4f}"
    assert score < THRESHOLD / 4, f"{name}: score {score:.4f} is too close to the threshold"


@pytest.mark.parametrize(("name", "make"), PERSON, ids=[n for n, _ in PERSON])
def test_someone_at_the_post(name: str, make: Callable[[], Image]) -> None:
    present, score = PresenceDetector(reference(), threshold=THRESHOLD).is_present(make())
    assert present, f"{name}: score {score:.4f}"
    assert 0.04 < score < 0.25, f"{name}: score {score:.4f}"  # the guard is ~8% of the frame


def test_a_lighting_change_would_read_as_a_person_without_compensation() -> None:
    """Guards the test above: a plain difference sees the lights as change everywhere."""
    ref, lit = reference().astype(np.int16), frame(lights=1.6).astype(np.int16)
    assert float(np.mean(np.abs(lit - ref).max(axis=2) > 25)) > 0.5


REGIONS = [
    # region (x, y, w, h), guard present, expected present, score range
    ((0.3, 0.2, 0.35, 0.75), True, True, (0.15, 0.5)),  # around the guard: a larger share
    ((0.3, 0.2, 0.35, 0.75), False, False, (0.0, 0.005)),
    ((0.0, 0.0, 0.2, 0.4), True, False, (0.0, 0.005)),  # the sky corner: the guard is not in it
    ((0.0, 0.0, 1.0, 1.0), True, True, (0.04, 0.25)),
]


@pytest.mark.parametrize(("region", "guard", "expected", "bounds"), REGIONS)
def test_the_region_restricts_detection(
    region: tuple[float, float, float, float],
    guard: bool,
    expected: bool,
    bounds: tuple[float, float],
) -> None:
    detector = PresenceDetector(reference(), threshold=THRESHOLD, region=region)
    present, score = detector.is_present(frame(present=guard))
    assert present is expected
    assert bounds[0] <= score <= bounds[1]


@pytest.mark.parametrize(("at", "expected"), [(0.12, False), (0.2, False), (0.77, True)])
def test_only_a_guard_inside_the_region_is_at_the_post(at: float, expected: bool) -> None:
    booth = PresenceDetector(reference(), threshold=THRESHOLD, region=(0.58, 0.2, 0.37, 0.7))
    whole = PresenceDetector(reference(), threshold=THRESHOLD)
    assert whole.is_present(guard_at(at))[0]  # seen in the whole picture wherever they stand
    assert booth.is_present(guard_at(at))[0] is expected


def test_reference_of_another_size_is_scaled_to_the_frame() -> None:
    big_reference = jpeg(np.kron(frame(number=0), np.ones((2, 2, 1), np.uint8)))
    detector = PresenceDetector(big_reference, threshold=THRESHOLD)
    assert not detector.is_present(frame())[0]
    assert detector.is_present(frame(present=True))[0]
    assert detector.is_present(frame())[1] < THRESHOLD / 4  # and back, after another size


def test_grey_and_bgra_frames_are_accepted() -> None:
    detector = PresenceDetector(reference(), threshold=THRESHOLD)
    bgr = frame(present=True)
    grey = np.asarray(bgr.mean(axis=2), dtype=np.uint8)
    bgra = np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)])
    assert detector.is_present(grey)[0]
    assert detector.is_present(bgra)[0]


@pytest.mark.parametrize(
    ("threshold", "region", "problem"),
    [
        (0.0, None, "threshold"),
        (1.0, None, "threshold"),
        (float("nan"), None, "threshold"),
        (0.02, (0.5, 0.5, 0.6, 0.2), "outside the frame"),
        (0.02, (0.1, 0.1, 0.0, 0.5), "positive"),
        (0.02, (-0.1, 0.1, 0.5, 0.5), "[0, 1)"),
        (0.02, (0.1, float("inf"), 0.5, 0.5), "finite"),
    ],
)
def test_bad_settings_are_refused(
    threshold: float, region: tuple[float, float, float, float] | None, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem.replace("[", r"\[").replace(")", r"\)")):
        PresenceDetector(reference(), threshold=threshold, region=region)


@pytest.mark.parametrize(
    ("image", "problem"),
    [
        (np.zeros((4, 4, 3), np.uint8), "at least 8"),
        (np.zeros((48, 64, 3), np.float32), "uint8"),
        (np.zeros((48, 64, 2), np.uint8), "channels"),
    ],
)
def test_bad_frames_are_refused(image: npt.NDArray[np.generic], problem: str) -> None:
    detector = PresenceDetector(reference(), threshold=THRESHOLD)
    with pytest.raises(ValueError, match=problem):
        detector.score(image)  # type: ignore[arg-type]
