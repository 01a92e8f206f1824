"""Step functions over time, and the intervals cut from them (pure helpers for the rules)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

V = TypeVar("V")
W = TypeVar("W")


@dataclass(frozen=True, slots=True)
class Interval:
    """Part of an interval inside a window, with the whole interval it belongs to."""

    start: datetime  # clipped to the window
    end: datetime
    full_start: datetime  # the whole interval, as far as it is known (may cross midnight)
    full_end: datetime

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    @property
    def full_duration_s(self) -> float:
        return (self.full_end - self.full_start).total_seconds()


@dataclass(frozen=True, slots=True)
class Step(Generic[V]):
    """One piece of a step function: `value` on [start, end)."""

    start: datetime
    end: datetime
    value: V


def steps(
    initial: V, changes: Iterable[tuple[datetime, V]], *, start: datetime, end: datetime
) -> list[Step[V]]:
    """The function that is `initial` from `start` and takes each change's value from its
    time on, up to `end`. `changes` are sorted and lie in [start, end]; of several at one
    instant the last wins. Neighbours with equal values are merged, empty pieces dropped."""
    points: list[tuple[datetime, V]] = [(start, initial)]
    for at, value in changes:
        if not start <= at <= end or at < points[-1][0]:
            raise ValueError(f"change at {at.isoformat()} is out of order or outside the span")
        if at == points[-1][0]:
            points[-1] = (at, value)
        else:
            points.append((at, value))
    merged: list[tuple[datetime, V]] = []
    for at, value in points:
        if not merged or merged[-1][1] != value:
            merged.append((at, value))
    ends = [at for at, _ in merged[1:]] + [end]
    return [
        Step(at, until, value)
        for (at, value), until in zip(merged, ends, strict=True)
        if until > at
    ]


def runs(pieces: Sequence[Step[V]], keep: Callable[[V], bool]) -> list[tuple[datetime, datetime]]:
    """Maximal intervals where `keep(value)` holds, whatever the values in between."""
    found: list[tuple[datetime, datetime]] = []
    for piece in pieces:
        if not keep(piece.value):
            continue
        if found and found[-1][1] == piece.start:
            found[-1] = (found[-1][0], piece.end)
        else:
            found.append((piece.start, piece.end))
    return found


def overlay(a: Sequence[Step[V]], b: Sequence[Step[W]]) -> list[Step[tuple[V, W]]]:
    """Both functions side by side over the span where both are defined."""
    out: list[Step[tuple[V, W]]] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i].start, b[j].start)
        end = min(a[i].end, b[j].end)
        if end > start:
            value = (a[i].value, b[j].value)
            if out and out[-1].end == start and out[-1].value == value:
                out[-1] = Step(out[-1].start, end, value)
            else:
                out.append(Step(start, end, value))
        if a[i].end <= b[j].end:
            i += 1
        else:
            j += 1
    return out


def clip(
    spans: Iterable[tuple[datetime, datetime]], start: datetime, end: datetime
) -> list[Interval]:
    """The spans that reach into [start, end] for a positive time, clipped to it."""
    return [
        Interval(max(lo, start), min(hi, end), lo, hi)
        for lo, hi in spans
        if min(hi, end) > max(lo, start)
    ]
