"""Sign-in rate limiting: too many failed sign-ins for one username, or from one client
address, and further attempts are refused (HTTP 429 with `Retry-After`) before the password
is looked at, so a password cannot be guessed at speed and a flood costs no Argon2 time.

Every attempt counts as a failure from the moment it is let through until it succeeds. Were
failures counted only when Argon2 had said no, a burst of parallel guesses would all pass the
check before the first one failed; this way at most `max_per_username` guesses are ever in
the window. A success forgets the username's failures (the legitimate owner is not locked
out by their own typos once they get it right) but not the address's: otherwise one valid
account would let an address reset its own count between guesses at others.

The limiter lives on `app.state.login_limiter` (made in `create_app`); the sign-in route
takes a `SignInAttempt` and reports `attempt.succeeded()` or `attempt.failed()`.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm

log = logging.getLogger("gateway.auth.login_limit")

Clock = Callable[[], float]
Scope = Literal["username", "address"]
# Usernames are at most 64 characters; a longer "username" is someone's garbage and must not
# cost more memory than a real one.
MAX_KEY_CHARS = 128
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    max_per_username: int = 5
    max_per_address: int = 20
    window_s: float = 300.0
    # Per scope. Past this the least recently failing keys are forgotten first: memory stays
    # bounded under a spray of made-up usernames or addresses.
    max_tracked: int = 10_000

    def __post_init__(self) -> None:
        if self.max_per_username < 1 or self.max_per_address < 1:
            raise ValueError("the attempt limits must be at least 1")
        if self.window_s <= 0:
            raise ValueError("window_s must be positive")
        if self.max_tracked < 1:
            raise ValueError("max_tracked must be at least 1")


class LoginRefused(Exception):
    """Too many failed sign-ins for this username or from this address."""

    def __init__(self, scope: Scope, retry_after_s: int) -> None:
        self.scope = scope
        self.retry_after_s = retry_after_s
        super().__init__(f"too many failed sign-ins for this {scope}: try again later")


class _Window:
    """The recent failure times per key, for one scope (username or address)."""

    def __init__(self, scope: Scope, limit: int, limits: LoginLimits) -> None:
        self.scope: Scope = scope
        self.limit = limit
        self._window_s = limits.window_s
        self._max_tracked = limits.max_tracked
        # Ordered by last failure, oldest first: pruning and eviction pop from the front.
        self._keys: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def retry_after(self, key: str, now: float) -> float | None:
        """Seconds until `key` may try again, or None when it may now."""
        times = self._keys.get(key)
        # Only the last `limit` failures are kept: the key is locked while the oldest of them
        # is still inside the window, and free again the moment it leaves.
        if times is None or len(times) < self.limit:
            return None
        left = times[0] + self._window_s - now
        return left if left > 0 else None

    def add(self, key: str, now: float) -> None:
        self._prune(now)
        times = self._keys.get(key)
        if times is None:
            times = self._keys[key] = deque(maxlen=self.limit)
        else:
            self._keys.move_to_end(key)
        times.append(now)
        while len(self._keys) > self._max_tracked:
            self._keys.popitem(last=False)

    def remove_one(self, key: str, at: float) -> None:
        times = self._keys.get(key)
        if times is None:
            return
        try:
            times.remove(at)
        except ValueError:  # already pushed out by later failures or pruned
            return
        if not times:
            del self._keys[key]

    def clear(self, key: str) -> None:
        self._keys.pop(key, None)

    def _prune(self, now: float) -> None:
        # A key whose last failure left the window has nothing left to say.
        while self._keys:
            key, times = next(iter(self._keys.items()))
            if times[-1] + self._window_s > now:
                return
            del self._keys[key]


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """One sign-in let through by `LoginLimiter.check`; report how it ended."""

    limiter: LoginLimiter
    username_key: str
    address_key: str
    at: float

    def succeeded(self) -> None:
        self.limiter.succeeded(self)

    def failed(self) -> None:
        self.limiter.failed(self)


class LoginLimiter:
    """Counts failed sign-ins per username and per client address in a sliding window.
    Not thread-safe: it is used on the event loop only, with no await inside."""

    def __init__(self, limits: LoginLimits | None = None, clock: Clock = time.monotonic) -> None:
        self.limits = limits or LoginLimits()
        self._clock = clock
        self._usernames = _Window("username", self.limits.max_per_username, self.limits)
        self._addresses = _Window("address", self.limits.max_per_address, self.limits)

    def check(self, username: str, address: str | None) -> SignInAttempt:
        """Let an attempt through (it counts as failed until `succeeded`), or raise
        `LoginRefused` with the whole seconds to wait."""
        now = self._clock()
        user_key = _username_key(username)
        address_key = (address or UNKNOWN_ADDRESS)[:MAX_KEY_CHARS]
        waits = [
            (window.scope, wait)
            for window, key in ((self._usernames, user_key), (self._addresses, address_key))
            if (wait := window.retry_after(key, now)) is not None
        ]
        if waits:
            scope, wait = max(waits, key=lambda item: item[1])
            raise LoginRefused(scope, max(1, math.ceil(wait)))
        self._usernames.add(user_key, now)
        self._addresses.add(address_key, now)
        return SignInAttempt(self, user_key, address_key, now)

    def failed(self, attempt: SignInAttempt) -> None:
        """The password was wrong (already counted by `check`): say once when a key locks."""
        now = self._clock()
        for window, key in (
            (self._usernames, attempt.username_key),
            (self._addresses, attempt.address_key),
        ):
            wait = window.retry_after(key, now)
            if wait is not None:
                log.warning(
                    "sign-in locked for %s %r for %d s after %d failures",
                    window.scope,
                    key,
                    math.ceil(wait),
                    window.limit,
                )

    def succeeded(self, attempt: SignInAttempt) -> None:
        """Forget the username's failures, and this attempt's count against its address."""
        self._usernames.clear(attempt.username_key)
        self._addresses.remove_one(attempt.address_key, attempt.at)

    def tracked(self) -> tuple[int, int]:
        """(usernames, addresses) currently remembered: for tests of the memory bound."""
        return len(self._usernames), len(self._addresses)


def _username_key(username: str) -> str:
    # Case-folded: varying the case of a name must not buy another 5 guesses.
    return username.casefold()[:MAX_KEY_CHARS]


def too_many_attempts(refused: LoginRefused) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        detail=str(refused),
        headers={"Retry-After": str(refused.retry_after_s)},
    )


def begin_sign_in(
    request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]
) -> SignInAttempt:
    """FastAPI dependency: 429 before the password is checked, or the attempt to report on.
    FastAPI caches the form per request, so the route's own form is this same one."""
    limiter: LoginLimiter = request.app.state.login_limiter
    address = request.client.host if request.client is not None else None
    try:
        return limiter.check(form.username, address)
    except LoginRefused as exc:
        raise too_many_attempts(exc) from exc


LoginAttempt = Annotated[SignInAttempt, Depends(begin_sign_in)]
