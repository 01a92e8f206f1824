"""Retry policy of the police outbox: capped, exponential, jittered."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.linkage.backoff import retry_delay
from gateway.settings import RetryPolicy

NO_JITTER = RetryPolicy(initial_s=1, max_s=60, multiplier=2, jitter=0)


@pytest.mark.parametrize(
    "attempts, expected",
    [(1, 1), (2, 2), (3, 4), (4, 8), (6, 32), (7, 60), (8, 60), (1000, 60)],
)
def test_exponential_then_capped(attempts: int, expected: float) -> None:
    assert retry_delay(attempts, NO_JITTER, random.Random(1)) == expected


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        retry_delay(0, NO_JITTER, random.Random(1))


@given(
    attempts=st.integers(1, 10_000),
    initial=st.floats(0.01, 10),
    cap=st.floats(0.5, 600),
    jitter=st.floats(0, 1),
    seed=st.integers(),
)
def test_jitter_stays_within_its_band_and_the_cap(
    attempts: int, initial: float, cap: float, jitter: float, seed: int
) -> None:
    policy = RetryPolicy(initial_s=initial, max_s=cap, multiplier=2, jitter=jitter)
    base = min(cap, initial * 2 ** min(attempts - 1, 64))
    delay = retry_delay(attempts, policy, random.Random(seed))
    assert 0 <= delay <= cap
    assert base * (1 - jitter) - 1e-9 <= delay <= base * (1 + jitter) + 1e-9


def test_jitter_spreads_retries() -> None:
    policy = RetryPolicy(initial_s=10, max_s=60, jitter=0.2)
    rng = random.Random(7)
    delays = {round(retry_delay(1, policy, rng), 3) for _ in range(50)}
    assert len(delays) > 40
    assert min(delays) >= 8 and max(delays) <= 12
