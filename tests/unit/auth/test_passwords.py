"""Argon2 password hashing: a match returns, anything else is one AuthError."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from gateway.auth.passwords import (
    REJECTED,
    hash_password,
    needs_rehash,
    reject_unknown_account,
    verify_password,
)
from gateway.errors import AuthError


def test_a_hash_verifies_its_password_and_only_it() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert stored != hash_password("correct horse")  # salted
    verify_password(stored, "correct horse")
    with pytest.raises(AuthError, match=REJECTED):
        verify_password(stored, "correct horse ")


@pytest.mark.parametrize("stored", ["", "plain-text-password", "$argon2id$v=19$broken"])
def test_a_damaged_hash_refuses_rather_than_crashes(stored: str) -> None:
    with pytest.raises(AuthError, match=REJECTED):
        verify_password(stored, "anything")
    assert needs_rehash(stored)


def test_an_unknown_account_is_refused_with_the_same_message() -> None:
    with pytest.raises(AuthError, match=REJECTED):
        reject_unknown_account("whatever")


def test_a_hash_made_with_weaker_parameters_needs_a_rehash() -> None:
    assert not needs_rehash(hash_password("s3cret-pass"))
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("s3cret-pass")
    assert needs_rehash(weak)
    verify_password(weak, "s3cret-pass")  # still accepted until it is rehashed
