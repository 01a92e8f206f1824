"""The pages' session cookie and its CSRF token.

The cookie holds a random token; the database keeps only its SHA-256 (`web_sessions`). The
CSRF token is an HMAC of the session token under the gateway's secret: the page gets it in
its HTML, a script sends it back in `X-CSRF-Token`, and a forged form from another site has
neither. Sign-in itself is guarded the same way with a short-lived pre-session cookie
(double submit), so that nobody can sign a victim into the attacker's account."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "campus_session"
LOGIN_COOKIE = "campus_login"  # the sign-in form's CSRF value, before there is a session
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_FORM_TTL_S = 3600
# Requests that change something: they need the CSRF token when signed in by cookie.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def csrf_token(secret: str, session_token: str) -> str:
    digest = hmac.new(secret.encode(), b"csrf/v1:" + session_token.encode(), hashlib.sha256)
    return digest.hexdigest()


def csrf_matches(secret: str, session_token: str, given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(csrf_token(secret, session_token), given)


def safe_next(path: str | None) -> str:
    """Where to go after signing in: a path on this site only (never `//host` or a URL),
    so the sign-in page cannot be used to send someone elsewhere."""
    if (
        not path
        or not path.startswith("/")
        or path.startswith("//")
        or "\\" in path
        or any(ord(c) < 0x20 for c in path)
    ):
        return "/"
    return path
