"""Sign-in rate limiting on a fake clock: locks after the limit, for the window and no
longer, per username and per address; a success resets the username; memory stays bounded."""

from __future__ import annotations

import math
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordRequestForm
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.auth.login_limit import (
    LoginAttempt,
    LoginLimiter,
    LoginLimits,
    LoginRefused,
)

LIMITS = LoginLimits(max_per_username=5, max_per_address=20, window_s=300.0, max_tracked=100)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def limiter(limits: LoginLimits = LIMITS) -> tuple[LoginLimiter, FakeClock]:
    clock = FakeClock()
    return LoginLimiter(limits, clock=clock), clock


def fail(lim: LoginLimiter, username: str, address: str | None = "10.0.0.1") -> None:
    lim.check(username, address).failed()


def refused(lim: LoginLimiter, username: str, address: str | None = "10.0.0.1") -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        lim.check(username, address)
    return caught.value


def test_the_sixth_attempt_within_the_window_is_refused_until_the_window_passes() -> None:
    lim, clock = limiter()
    for _ in range(5):
        fail(lim, "admin")
        clock.now += 10
    refusal = refused(lim, "admin")
    assert refusal.scope == "username"
    # The first of the 5 failures was at 1000; it leaves the window at 1300; now is 1050.
    assert refusal.retry_after_s == 250
    clock.now = 1299.5
    assert refused(lim, "admin").retry_after_s == 1  # never 0: a client would retry at once
    clock.now = 1300.0
    fail(lim, "admin")  # free again once the oldest failure left the window...
    # ...but the other 4 are still inside it: one more failure locks it again.
    assert refused(lim, "admin").retry_after_s == 10


def test_refused_attempts_do_not_extend_the_lock() -> None:
    lim, clock = limiter()
    for _ in range(5):
        fail(lim, "admin")
    for _ in range(50):
        clock.now += 5
        refused(lim, "admin")
    clock.now = 1300.0
    lim.check("admin", "10.0.0.1").succeeded()


def test_other_usernames_are_not_locked_and_case_does_not_buy_more_guesses() -> None:
    lim, _ = limiter()
    for name in ("admin", "Admin", "ADMIN", "aDmIn", "admiN"):
        fail(lim, name)
    assert refused(lim, "admin").scope == "username"
    lim.check("police", "10.0.0.1").succeeded()


def test_a_success_resets_the_usernames_failures() -> None:
    lim, _ = limiter()
    for _ in range(4):
        fail(lim, "guard-li")
    lim.check("guard-li", "10.0.0.1").succeeded()
    for _ in range(4):
        fail(lim, "guard-li")
    lim.check("guard-li", "10.0.0.1")  # 5th since the success: let through, not yet locked


def test_an_address_is_locked_after_its_limit_across_usernames() -> None:
    lim, clock = limiter()
    for n in range(20):
        fail(lim, f"user{n}", "203.0.113.9")
        clock.now += 1
    refusal = refused(lim, "someone-else", "203.0.113.9")
    assert refusal.scope == "address"
    assert refusal.retry_after_s == 280
    # The same username from another address is still let through.
    lim.check("someone-else", "198.51.100.7").succeeded()
    # A success from the locked address would not help it either: it is refused outright.
    refused(lim, "user0", "203.0.113.9")


def test_a_success_does_not_reset_the_address() -> None:
    lim, _ = limiter()
    for n in range(19):
        fail(lim, f"user{n}", "203.0.113.9")
    lim.check("owner", "203.0.113.9").succeeded()  # a valid account at the same address
    fail(lim, "user19", "203.0.113.9")
    assert refused(lim, "user20", "203.0.113.9").scope == "address"


def test_parallel_attempts_count_before_their_outcome_is_known() -> None:
    # A burst of guesses all let through before Argon2 answers the first would bypass a
    # limit that counted only finished failures.
    lim, _ = limiter()
    in_flight = [lim.check("admin", f"10.0.0.{n}") for n in range(5)]
    assert refused(lim, "admin", "10.0.0.99").scope == "username"
    for attempt in in_flight:
        attempt.failed()


def test_an_attempt_that_never_reports_counts_as_failed() -> None:
    lim, _ = limiter()
    for _ in range(5):
        lim.check("admin", "10.0.0.1")  # e.g. the database failed mid-way
    refused(lim, "admin")


def test_the_longer_wait_is_given_when_both_are_locked() -> None:
    lim, clock = limiter(LoginLimits(max_per_username=2, max_per_address=2, window_s=100))
    fail(lim, "a", "x")
    clock.now += 30
    fail(lim, "b", "x")  # address x: failures at 1000 and 1030 -> free at 1100
    fail(lim, "c", "y")
    fail(lim, "c", "z")  # username c: failures at 1030 -> free at 1130
    refusal = refused(lim, "c", "x")
    assert (refusal.scope, refusal.retry_after_s) == ("username", 100)


def test_an_unknown_address_is_one_address() -> None:
    lim, _ = limiter(LoginLimits(max_per_username=99, max_per_address=3))
    for n in range(3):
        fail(lim, f"user{n}", None)
    assert refused(lim, "user9", None).scope == "address"


def test_memory_is_bounded_under_a_spray_of_names_and_addresses() -> None:
    lim, clock = limiter()
    for n in range(1000):
        fail(lim, f"made-up-{n}" + "x" * 10_000, f"10.{n // 256}.{n % 256}.1")
        clock.now += 0.01
    assert lim.tracked() == (100, 100)


def test_keys_whose_failures_left_the_window_are_pruned() -> None:
    lim, clock = limiter()
    for n in range(50):
        fail(lim, f"user{n}", f"10.0.0.{n}")
    clock.now += 301
    fail(lim, "late", "10.9.9.9")
    assert lim.tracked() == (1, 1)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        LoginLimits(max_per_username=0)
    with pytest.raises(ValueError):
        LoginLimits(window_s=0)
    with pytest.raises(ValueError):
        LoginLimits(max_tracked=0)


# -- properties ---------------------------------------------------------------------------

Event = tuple[float, str, str, bool]  # (seconds since the last event, username, address, ok)
events = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=120, allow_nan=False),
        st.sampled_from(["admin", "ADMIN", "police", "guard-li"]),
        st.sampled_from(["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        st.booleans(),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(events)
def test_never_more_guesses_than_the_limit_in_any_window(run: list[Event]) -> None:
    """Whatever happens, no username gets more than 5 failed attempts let through in any
    300 s since its last success, no address more than 20 in any 300 s."""
    limits = LoginLimits(max_per_username=5, max_per_address=20, window_s=300.0)
    lim, clock = limiter(limits)
    by_user: dict[str, list[float]] = {}  # failures let through since the last success
    by_address: dict[str, list[float]] = {}  # every failure let through
    for gap, username, address, ok in run:
        clock.now += gap
        name = username.casefold()
        try:
            attempt = lim.check(username, address)
        except LoginRefused as refusal:
            assert 1 <= refusal.retry_after_s <= math.ceil(limits.window_s)
            continue
        if ok:
            attempt.succeeded()
            by_user[name] = []
            continue
        attempt.failed()
        by_user.setdefault(name, []).append(clock.now)
        by_address.setdefault(address, []).append(clock.now)
        for times, limit in ((by_user[name], 5), (by_address[address], 20)):
            assert sum(1 for t in times if t > clock.now - limits.window_s) <= limit


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=1, max_value=8),
    # Whole and half seconds: exact in floating point, so "one second before" is exact too.
    st.lists(st.integers(min_value=0, max_value=200).map(lambda n: n / 2), min_size=1, max_size=30),
)
def test_a_refusal_wait_is_exact(limit: int, gaps: list[float]) -> None:
    """Refused at `now` with wait w: still refused at now + w - 1, let in at now + w."""
    lim, clock = limiter(LoginLimits(max_per_username=limit, max_per_address=1000, window_s=300))
    for gap in gaps:
        clock.now += gap
        try:
            lim.check("admin", "10.0.0.1").failed()
        except LoginRefused as refusal:
            start = clock.now
            if refusal.retry_after_s > 1:
                clock.now = start + refusal.retry_after_s - 1
                with pytest.raises(LoginRefused):
                    lim.check("admin", "10.0.0.1")
            clock.now = start + refusal.retry_after_s
            lim.check("admin", "10.0.0.1").failed()


# -- the FastAPI dependency ---------------------------------------------------------------


def app_with(lim: LoginLimiter) -> FastAPI:
    app = FastAPI()
    app.state.login_limiter = lim

    @app.post("/token")
    async def token(
        form: Annotated[OAuth2PasswordRequestForm, Depends()], attempt: LoginAttempt
    ) -> dict[str, str]:
        # Wired as the sign-in route is: only "right" is the password.
        if form.password != "right":
            attempt.failed()
            raise HTTPException(401, "wrong username or password")
        attempt.succeeded()
        return {"username": form.username}

    return app


async def test_the_dependency_answers_429_with_retry_after_before_the_password_is_seen() -> None:
    lim, clock = limiter()
    transport = httpx.ASGITransport(app=app_with(lim), client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:

        async def sign_in(username: str, password: str) -> httpx.Response:
            return await http.post("/token", data={"username": username, "password": password})

        for _ in range(5):
            assert (await sign_in("admin", "guess")).status_code == 401
        clock.now += 60
        response = await sign_in("admin", "right")  # even the right password: not checked
        assert response.status_code == 429
        assert response.headers["Retry-After"] == "240"
        assert "too many failed sign-ins" in response.json()["detail"]
        assert (await sign_in("police", "right")).json() == {"username": "police"}
        assert (await sign_in("police", "right")).status_code == 200
        clock.now += 240
        assert (await sign_in("admin", "right")).status_code == 200
        for _ in range(4):  # the success reset the username's count
            assert (await sign_in("admin", "guess")).status_code == 401
        assert (await sign_in("admin", "right")).status_code == 200
