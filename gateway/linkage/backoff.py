"""Capped exponential backoff with jitter, for police delivery retries. Pure."""

from __future__ import annotations

import random

from gateway.settings import RetryPolicy


def retry_delay(attempts: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1 = the first failure).

    Jitter spreads retries of many alarms so a recovering endpoint is not hit all at once."""
    if attempts < 1:
        raise ValueError("attempts counts failures and starts at 1")
    exponent = min(attempts - 1, 64)  # beyond this the cap holds anyway; avoids overflow
    base = min(policy.max_s, policy.initial_s * policy.multiplier**exponent)
    spread = base * policy.jitter * (2 * rng.random() - 1)
    return max(0.0, min(policy.max_s, base + spread))
