"""API tokens: what was issued comes back; expired, tampered or foreign tokens do not."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from gateway.auth.tokens import (
    Principal,
    _signing_key,
    decode_token,
    issue_token,
    new_epoch,
)
from gateway.domain import Role
from gateway.errors import AuthError

SECRET = "s" * 32
NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def token(*, role: Role = Role.GUARD, school: str | None = "fy-shiyan-kg", ttl_s: int = 600) -> str:
    return issue_token(SECRET, username="wang", role=role, school_id=school, ttl_s=ttl_s, now=NOW)


def test_round_trip() -> None:
    principal = decode_token(SECRET, token(), now=NOW + timedelta(seconds=1))
    assert principal == Principal(
        username="wang",
        role=Role.GUARD,
        school_id="fy-shiyan-kg",
        expires_at=NOW + timedelta(seconds=600),
    )
    assert decode_token(SECRET, token(role=Role.POLICE, school=None), now=NOW).school_id is None


@pytest.mark.parametrize(
    ("offset_s", "valid"), [(0, True), (599, True), (600, False), (3600, False)]
)
def test_expiry_follows_the_injected_clock(offset_s: int, valid: bool) -> None:
    now = NOW + timedelta(seconds=offset_s)
    if valid:
        assert decode_token(SECRET, token(), now=now).username == "wang"
    else:
        with pytest.raises(AuthError, match="expired"):
            decode_token(SECRET, token(), now=now)


def test_a_token_signed_with_another_secret_is_refused() -> None:
    foreign = issue_token(
        "o" * 32, username="wang", role=Role.ADMIN, school_id=None, ttl_s=600, now=NOW
    )
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(SECRET, foreign, now=NOW)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_tampered_payload_is_refused() -> None:
    header, payload, signature = token().split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(SECRET, f"{header}.{_b64(claims)}.{signature}", now=NOW)


def test_an_unsigned_token_is_refused() -> None:
    unsigned = jwt.encode(
        {"sub": "wang", "role": "admin", "exp": 2**40}, key=None, algorithm="none"
    )
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(SECRET, unsigned, now=NOW)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(AuthError, match="invalid token"):
        decode_token(SECRET, garbage, now=NOW)


def test_admin_passes_every_role_check() -> None:
    admin = decode_token(SECRET, token(role=Role.ADMIN, school=None), now=NOW)
    guard = decode_token(SECRET, token(), now=NOW)
    assert admin.has_role(Role.POLICE)
    assert guard.has_role(Role.GUARD, Role.POLICE)
    assert not guard.has_role(Role.POLICE, Role.INSPECTOR)


def test_the_scope_claims_come_back() -> None:
    issued = issue_token(
        SECRET,
        username="li",
        role=Role.POLICE,
        school_id=None,
        ttl_s=600,
        now=NOW,
        station="城关派出所",
    )
    principal = decode_token(SECRET, issued, now=NOW)
    assert (principal.school_id, principal.station, principal.district) == (
        None,
        "城关派出所",
        None,
    )
    inspector = issue_token(
        SECRET,
        username="wu",
        role=Role.INSPECTOR,
        school_id=None,
        ttl_s=600,
        now=NOW,
        district="东区",
    )
    assert decode_token(SECRET, inspector, now=NOW).district == "东区"


def test_the_account_epoch_comes_back() -> None:
    issued = issue_token(
        SECRET, username="li", role=Role.POLICE, school_id=None, ttl_s=600, now=NOW, epoch="e1"
    )
    assert decode_token(SECRET, issued, now=NOW).epoch == "e1"
    assert decode_token(SECRET, token(), now=NOW).epoch is None  # as from before the epochs


def test_account_epochs_never_repeat() -> None:
    assert len({new_epoch() for _ in range(1000)}) == 1000


@pytest.mark.parametrize("claim", ["school", "station", "district", "epoch"])
def test_a_malformed_scope_claim_is_refused(claim: str) -> None:
    claims = {"iss": "campus-gateway", "sub": "li", "role": "police", "exp": 2**40, claim: 7}
    forged = jwt.encode(claims, _signing_key(SECRET), algorithm="HS256")
    with pytest.raises(AuthError, match=f"malformed {claim}"):
        decode_token(SECRET, forged, now=NOW)
