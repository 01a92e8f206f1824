"""Password hashing with Argon2id (argon2-cffi's defaults, RFC 9106 low-memory profile).

Hashing and verifying cost tens of milliseconds of CPU on purpose: call them from async code
through `asyncio.to_thread` so a login never delays an alarm on the event loop.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from functools import cache
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.errors import AuthError

log = logging.getLogger("gateway.auth")

# One message for every failure: the caller must not learn whether the account exists.
REJECTED = "wrong username or password"


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Made on first use, not at import: it costs a full hash.
    return _hasher().hash("campus-gateway: no such account")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> None:
    """Return when `password` matches the stored hash, raise AuthError otherwise."""
    try:
        _hasher().verify(password_hash, password)
    except VerificationError as exc:
        raise AuthError(REJECTED) from exc
    except InvalidHashError as exc:
        # Not a password problem but a damaged row: refuse, and tell the operator.
        log.error("a stored password hash is not a valid argon2 hash; reset the account")
        raise AuthError(REJECTED) from exc


def reject_unknown_account(password: str) -> NoReturn:
    """Refuse a sign-in for an account that does not exist (or is disabled), after spending
    a verify on a dummy hash so that it takes as long as a wrong password."""
    with suppress(VerificationError):
        _hasher().verify(_dummy_hash(), password)
    raise AuthError(REJECTED)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's: rehash on login."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
