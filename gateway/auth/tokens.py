"""API bearer tokens: JWT signed with HS256, checked against an injected clock.

A token carries its account's epoch (`users.token_epoch`): a random value the account gets
when it is made and again at every change (a reset password, a new role or scope, disabling,
enabling). A token whose epoch is not the account's current one is refused, so a change ends
every token issued before it, and a username removed and made again is another account."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from gateway.domain import Role
from gateway.errors import AuthError

ALGORITHM = "HS256"
ISSUER = "campus-gateway"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the token says."""

    username: str
    role: Role
    school_id: str | None
    expires_at: datetime
    # A police account of one station, an inspector of one district (None: city level).
    station: str | None = None
    district: str | None = None
    # The account's epoch when the token was issued (None: the account had none yet, or the
    # principal is a web session's, which is checked against the account instead).
    epoch: str | None = None

    def has_role(self, *roles: Role) -> bool:
        """Admin passes every role check."""
        return self.role is Role.ADMIN or self.role in roles


def new_epoch() -> str:
    """A fresh account epoch: random, so that it never repeats, not even for an account
    removed and made again under the same name (a counter would start over)."""
    return secrets.token_urlsafe(16)


def _signing_key(secret: str) -> bytes:
    # Derive a key for tokens only: the configured secret may sign other things later, and the
    # derived key is always 32 bytes, the length HS256 wants (PyJWT warns on shorter keys).
    return hmac.new(secret.encode(), b"campus-gateway/api-token/v1", hashlib.sha256).digest()


def issue_token(
    secret: str,
    *,
    username: str,
    role: Role,
    school_id: str | None,
    ttl_s: int,
    now: datetime,
    station: str | None = None,
    district: str | None = None,
    epoch: str | None = None,
) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": username,
        "role": role.value,
        "school": school_id,
        "station": station,
        "district": district,
        "epoch": epoch,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, _signing_key(secret), algorithm=ALGORITHM)


def decode_token(secret: str, token: str, *, now: datetime | None = None) -> Principal:
    """The token's principal; AuthError when it is malformed, forged or expired."""
    try:
        claims = jwt.decode(
            token,
            _signing_key(secret),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            # Expiry is checked below against `now`, so tests can move the clock.
            options={"verify_exp": False, "require": ["iss", "sub", "role", "exp"]},
        )
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    exp, username, role = claims.get("exp"), claims.get("sub"), claims.get("role")
    if not isinstance(exp, int) or not isinstance(username, str) or not username:
        raise AuthError("invalid token: malformed claims")
    # A token from before the scopes has no station or district claim: it is checked against
    # the account on every request, so a scoped account's old token is refused there.
    # A token from before the epochs has none: it matches an account that has had no change
    # since (its epoch is NULL) and no other.
    scope = {name: claims.get(name) for name in ("school", "station", "district", "epoch")}
    for name, value in scope.items():
        if value is not None and not isinstance(value, str):
            raise AuthError(f"invalid token: malformed {name}")
    if not isinstance(role, str) or role not in {r.value for r in Role}:
        raise AuthError(f"invalid token: unknown role {role!r}")
    parsed_role = Role(role)
    expires_at = datetime.fromtimestamp(exp, UTC)
    if (now or datetime.now(UTC)) >= expires_at:
        raise AuthError("token expired")
    return Principal(
        username=username,
        role=parsed_role,
        school_id=scope["school"],
        expires_at=expires_at,
        station=scope["station"],
        district=scope["district"],
        epoch=scope["epoch"],
    )
