"""The pages' session helpers: where sign-in may go on to, and the CSRF token."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.auth.web_sessions import csrf_matches, csrf_token, new_token, safe_next, token_hash


@pytest.mark.parametrize(
    ("given_path", "expected"),
    [
        ("/police", "/police"),
        ("/inspector?lang=en#report", "/inspector?lang=en#report"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("police", "/"),
        ("//evil.example/police", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/police\r\nSet-Cookie: x=1", "/"),
    ],
)
def test_sign_in_goes_on_to_this_site_only(given_path: str | None, expected: str) -> None:
    assert safe_next(given_path) == expected


@given(st.text())
def test_any_next_is_a_path_on_this_site(path: str) -> None:
    onward = safe_next(path)
    assert onward.startswith("/") and not onward.startswith("//") and "\\" not in onward
    assert onward in (path, "/")


def test_the_csrf_token_belongs_to_its_session_and_key() -> None:
    session = new_token()
    token = csrf_token("key-one", session)
    assert csrf_matches("key-one", session, token)
    assert not csrf_matches("key-two", session, token)
    assert not csrf_matches("key-one", new_token(), token)
    assert not csrf_matches("key-one", session, None)
    assert not csrf_matches("key-one", session, "")
    assert not csrf_matches("key-one", session, token[:-1])


def test_sessions_are_stored_by_hash_only() -> None:
    session = new_token()
    assert len(session) >= 43  # 32 random bytes
    assert token_hash(session) != session and len(token_hash(session)) == 64
    assert token_hash(session) == token_hash(session)
