"""How many simulated phone photos of a checkpoint poster the QR decoder reads.

    python -m bench.qr_decoding [--seeds 40] [--beyond-seeds 20]

Renders `--seeds` photos of every case of `simulators.qr_photos.DOCUMENTED_DISTORTIONS` and
`--beyond-seeds` of every case in `BEYOND` (past the documented range), decodes each with
`drivers.camera.qr.decode_qr` and prints markdown tables for docs/qr-decoding.md: the rate
of photos decoded to exactly the signed tag, per family and per case, misreads (a different
text) apart, and the decoding time. Exit status 1 when the documented range reads < 95%.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from importlib import metadata

from drivers.camera.qr import decode_qr
from gateway.patrol.tokens import sign_tag
from gateway.settings import Patrol
from simulators.qr_photos import (
    DOCUMENTED_DISTORTIONS,
    TYPICAL,
    DistortionCase,
    QrPhotoDistortion,
    photo_set,
)

TARGET = 0.95
BENCH_KEY = "bench-patrol-key-0123456789"


def _beyond(family: str, **changes: object) -> DistortionCase:
    return DistortionCase(family, replace(TYPICAL, **changes))  # type: ignore[arg-type]


BEYOND: tuple[DistortionCase, ...] = (
    *(_beyond("perspective", perspective=p) for p in (0.25, 0.3)),
    *(_beyond("blur", blur_sigma=sigma) for sigma in (2.5, 3.0)),
    *(_beyond("light", light=0.1, shading=0.4, noise_sigma=n) for n in (6.0, 10.0)),
    *(_beyond("noise", noise_sigma=sigma) for sigma in (16.0, 24.0)),
    _beyond("jpeg", jpeg_quality=15),
    *(_beyond("scale", module_px=px) for px in (3.0, 2.5)),
    _beyond(
        "combined",
        rotation_deg=60.0,
        perspective=0.2,
        blur_sigma=1.5,
        light=0.3,
        shading=0.4,
        noise_sigma=8.0,
        jpeg_quality=60,
        module_px=5.0,
    ),
    _beyond(
        "combined",
        rotation_deg=200.0,
        perspective=0.1,
        blur_sigma=1.0,
        light=0.2,
        shading=0.4,
        noise_sigma=8.0,
        jpeg_quality=70,
        module_px=4.0,
    ),
)


@dataclass(slots=True)
class Tally:
    photos: int = 0
    decoded: int = 0
    misread: int = 0
    seconds: list[float] = field(default_factory=list)

    def add(self, texts: list[str], tag: str, seconds: float) -> None:
        self.photos += 1
        self.decoded += texts == [tag]
        self.misread += bool(texts) and texts != [tag]
        self.seconds.append(seconds)

    @property
    def rate(self) -> float:
        return self.decoded / self.photos if self.photos else 0.0

    def row(self, label: str) -> str:
        ms = sorted(s * 1000 for s in self.seconds)
        p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
        return (
            f"| {label} | {self.photos} | {self.decoded} | {100 * self.rate:.1f}% | "
            f"{self.misread} | {statistics.median(ms):.0f} ms | {p95:.0f} ms |"
        )


HEADER = (
    "| {what} | photos | decoded | rate | misread | decode p50 | decode p95 |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def describe(distortion: QrPhotoDistortion) -> str:
    """The fields that differ from TYPICAL, e.g. `perspective 0.2, light 0.3`."""
    changed = [
        f"{name} {getattr(distortion, name)}"
        for name in QrPhotoDistortion.__dataclass_fields__
        if getattr(distortion, name) != getattr(TYPICAL, name)
    ]
    return ", ".join(changed) or "typical"


def measure(
    tag: str, cases: Sequence[DistortionCase], seeds: int
) -> tuple[dict[str, Tally], dict[DistortionCase, Tally]]:
    families: dict[str, Tally] = {}
    per_case: dict[DistortionCase, Tally] = {}
    for case, photo in photo_set(tag, cases, seeds):
        started = time.perf_counter()
        texts = decode_qr(photo)
        seconds = time.perf_counter() - started
        per_case.setdefault(case, Tally()).add(texts, tag, seconds)
        families.setdefault(case.family, Tally()).add(texts, tag, seconds)
    return families, per_case


def _case_row(case: DistortionCase, tally: Tally) -> str:
    return tally.row(f"{case.family}: {describe(case.distortion)}")


def report(tag: str, seeds: int, beyond_seeds: int) -> tuple[str, float]:
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}, opencv-python-headless "
        f"{metadata.version('opencv-python-headless')}; tag `{tag}` "
        f"({len(tag)} characters).",
        "",
    ]
    families, per_case = measure(tag, DOCUMENTED_DISTORTIONS, seeds)
    total = Tally()
    for tally in families.values():
        total.photos += tally.photos
        total.decoded += tally.decoded
        total.misread += tally.misread
        total.seconds += tally.seconds
    lines += [f"### Documented range: {seeds} photos per case", "", HEADER.format(what="family")]
    lines += [tally.row(name) for name, tally in families.items()]
    lines += [total.row("**all**"), "", HEADER.format(what="case")]
    lines += [
        tally.row(f"{case.family}: {describe(case.distortion)}") for case, tally in per_case.items()
    ]
    if beyond_seeds:
        _families, beyond = measure(tag, BEYOND, beyond_seeds)
        lines += [
            "",
            f"### Beyond the documented range: {beyond_seeds} photos per case",
            "",
            HEADER.format(what="case"),
        ]
        lines += [
            tally.row(f"{case.family}: {describe(case.distortion)}")
            for case, tally in beyond.items()
        ]
    return "\n".join(lines), total.rate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qr_decoding", description=__doc__)
    parser.add_argument("--seeds", type=int, default=40, help="photos per documented case")
    parser.add_argument("--beyond-seeds", type=int, default=20, help="photos per case beyond")
    args = parser.parse_args(argv)
    tag = sign_tag(Patrol(keys={1: BENCH_KEY}), "fy-dongguan-ms", "cp-dorm")
    table, rate = report(tag, args.seeds, args.beyond_seeds)
    print(table)
    return 0 if rate >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
