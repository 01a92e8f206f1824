"""The QR decoder reads simulated phone photos over the whole documented range.

The rate per family is written to `.pytest_cache/d/qr-decoding/report.md` and printed;
docs/qr-decoding.md has the larger run of bench/qr_decoding.py.
"""

from __future__ import annotations

from collections import Counter

import pytest

from drivers.camera.qr import decode_qr
from gateway.errors import ConfigError
from gateway.patrol.tokens import sign_tag
from gateway.settings import Patrol
from simulators.qr_photos import (
    DOCUMENTED_DISTORTIONS,
    TYPICAL,
    QrPhotoDistortion,
    photo_set,
    render_qr_photo,
)
from tests.support.site import PATROL_KEY

TAG = sign_tag(Patrol(keys={1: PATROL_KEY}), "fy-dongguan-ms", "cp-dorm")
SEEDS = 4  # x 25 cases: 100 photos, ~15 s


def test_documented_distortions_decode_to_the_tag(request: pytest.FixtureRequest) -> None:
    photos: Counter[str] = Counter()
    decoded: Counter[str] = Counter()
    misread: list[str] = []
    for case, photo in photo_set(TAG, DOCUMENTED_DISTORTIONS, SEEDS):
        texts = decode_qr(photo)
        photos[case.family] += 1
        decoded[case.family] += texts == [TAG]
        if texts and texts != [TAG]:
            misread.append(f"{case}: {texts}")
    total, good = sum(photos.values()), sum(decoded.values())
    lines = ["| family | photos | decoded | rate |", "| --- | ---: | ---: | ---: |"]
    lines += [
        f"| {family} | {photos[family]} | {decoded[family]} | "
        f"{100 * decoded[family] / photos[family]:.0f}% |"
        for family in photos
    ]
    lines.append(f"| all | {total} | {good} | {100 * good / total:.1f}% |")
    report = "\n".join(lines)
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider
    if cache is not None:
        (cache.mkdir("qr-decoding") / "report.md").write_text(report + "\n", encoding="utf-8")
    print("\n" + report)

    assert total >= 100
    assert not misread, "a photo decoded to another text: " + "; ".join(misread)
    assert good / total >= 0.95, report


def test_the_same_seed_gives_the_same_photo() -> None:
    first = render_qr_photo(TAG, TYPICAL, seed=3)
    assert render_qr_photo(TAG, TYPICAL, seed=3) == first
    assert render_qr_photo(TAG, TYPICAL, seed=4) != first
    assert first.startswith(b"\xff\xd8")


def test_the_grid_covers_every_family() -> None:
    families = {case.family for case in DOCUMENTED_DISTORTIONS}
    assert families == {
        "rotation",
        "perspective",
        "blur",
        "light",
        "noise",
        "jpeg",
        "scale",
        "combined",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"perspective": 0.5},
        {"light": 0.0},
        {"jpeg_quality": 101},
        {"module_px": 0.5},
        {"photo_size": (32, 32)},
    ],
)
def test_impossible_distortions_are_refused(changes: dict[str, object]) -> None:
    fields = {name: getattr(TYPICAL, name) for name in QrPhotoDistortion.__dataclass_fields__}
    with pytest.raises(ConfigError):
        QrPhotoDistortion(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_code_too_big_for_the_photo_is_refused() -> None:
    distortion = QrPhotoDistortion(module_px=40.0)
    with pytest.raises(ConfigError, match="does not fit"):
        render_qr_photo(TAG, distortion, seed=1)
