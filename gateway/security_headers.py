"""The headers every answer carries, pages and API alike (docs/security.md, "Headers").

The police console, signed in by its cookie, could be put in a frame by a page on another
port of the same host (same site, so SameSite=Lax sends the cookie) and its buttons
clicked through it. Nothing of the gateway is meant to be framed, sniffed as another type
or to tell other sites which page a reader was on.

A plain ASGI middleware, not Starlette's `BaseHTTPMiddleware`: it only adds headers to the
start of each answer, so the live feed (SSE) streams as before."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The pages keep two small inline scripts (their texts and reader as JSON), so the policy
# does not restrict scripts; it says what holds for every page (docs/decisions.md,
# "Security headers").
CONTENT_SECURITY_POLICY = (
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"
)
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every HTTP answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
