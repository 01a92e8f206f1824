"""Signing in and out on the pages, with a session cookie (docs/security.md, "The pages").

The API keeps its bearer tokens for programs; people in a browser get an HttpOnly cookie
that scripts cannot read, a CSRF token in each page for the writes its scripts make, and a
server-side session that signing out ends."""

from __future__ import annotations

import hmac
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from gateway.api.auth_routes import authenticate, rehash_if_needed
from gateway.api.deps import principal_for_session
from gateway.auth.login_limit import LoginLimiter, LoginRefused
from gateway.auth.tokens import Principal
from gateway.auth.web_sessions import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    LOGIN_FORM_TTL_S,
    SESSION_COOKIE,
    csrf_token,
    new_token,
    safe_next,
    token_hash,
)
from gateway.context import GatewayContext
from gateway.errors import AuthError
from gateway.storage.web_sessions import WebSessionRepository
from gateway.web.texts import LANGUAGES, TEXTS

log = logging.getLogger("gateway.web.account")

Language = Annotated[str, Query(pattern="^(zh|en)$")]


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A page's reader: who they are and the CSRF token their page's scripts send back."""

    principal: Principal
    csrf: str

    def page_context(self) -> dict[str, Any]:
        p = self.principal
        me = {
            "username": p.username,
            "role": p.role.value,
            "school_id": p.school_id,
            "station": p.station,
            "district": p.district,
        }
        return {"me": me, "csrf": self.csrf}


def texts_for(lang: str) -> dict[str, str]:
    return TEXTS[lang if lang in LANGUAGES else "zh"]


async def signed_in(request: Request) -> SignedIn | None:
    """The page's reader by their session cookie; None when there is no valid session (the
    page then sends them to sign in: not being signed in is not an error for a page)."""
    session_token = request.cookies.get(SESSION_COOKIE)
    if not session_token:
        return None
    context: GatewayContext = request.app.state.context
    async with context.sessions() as session:
        try:
            principal = await principal_for_session(context, session, session_token)
        except HTTPException:
            return None
    return SignedIn(principal, csrf_token(context.token_secret, session_token))


def to_sign_in(request: Request) -> RedirectResponse:
    """303 to the sign-in page, coming back here afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    lang = request.query_params.get("lang", "zh")
    query = urlencode({"next": here, "lang": lang if lang in LANGUAGES else "zh"})
    return RedirectResponse(f"/login?{query}", status.HTTP_303_SEE_OTHER)


def _cookie_secure(request: Request) -> bool:
    # Behind a TLS-terminating proxy uvicorn takes the scheme from X-Forwarded-Proto (for the
    # addresses in FORWARDED_ALLOW_IPS), so https there gives Secure cookies too.
    return request.url.scheme == "https"


def build_account_router(templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def sign_in_form(
        request: Request,
        *,
        lang: str,
        next_path: str,
        error: str | None = None,
        notice: str | None = None,
        status_code: int = status.HTTP_200_OK,
    ) -> HTMLResponse:
        form_token = new_token()
        response = templates.TemplateResponse(
            request,
            "login.html",
            {
                "t": texts_for(lang),
                "lang": lang,
                "next": next_path,
                "csrf": form_token,
                "error": error,
                "notice": notice,
            },
            status_code=status_code,
        )
        response.set_cookie(
            LOGIN_COOKIE,
            form_token,
            max_age=LOGIN_FORM_TTL_S,
            path="/login",
            httponly=True,
            samesite="strict",
            secure=_cookie_secure(request),
        )
        # The sign-in page must not come back from a cache with someone's typing in it.
        response.headers["Cache-Control"] = "no-store"
        return response

    @router.get("/login", response_class=HTMLResponse, name="sign_in_page")
    async def sign_in_page(
        request: Request,
        lang: Language = "zh",
        next: Annotated[str | None, Query(max_length=2000)] = None,
        signed_out: Annotated[bool, Query()] = False,
    ) -> Response:
        """The sign-in page; someone already signed in goes straight on."""
        next_path = safe_next(next)
        if await signed_in(request) is not None:
            return RedirectResponse(next_path, status.HTTP_303_SEE_OTHER)
        t = texts_for(lang)
        return sign_in_form(
            request,
            lang=lang,
            next_path=next_path,
            notice=t["a_signed_out"] if signed_out else None,
        )

    @router.post("/login", response_class=HTMLResponse)
    async def sign_in(
        request: Request,
        username: Annotated[str, Form(max_length=200)],
        password: Annotated[str, Form(max_length=1000)],
        csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
        lang: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
    ) -> Response:
        t = texts_for(lang)
        next_path = safe_next(next)
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, csrf_token_field):
            # Not this site's own form (or one from before a restart of the browser): a
            # page elsewhere must not be able to sign anyone in to an account of its choosing.
            return sign_in_form(
                request,
                lang=lang,
                next_path=next_path,
                error=t["a_form_expired"],
                status_code=status.HTTP_400_BAD_REQUEST,
            )
        limiter: LoginLimiter = request.app.state.login_limiter
        address = request.client.host if request.client is not None else None
        try:
            attempt = limiter.check(username, address)
        except LoginRefused as exc:
            minutes = max(1, math.ceil(exc.retry_after_s / 60))
            response = sign_in_form(
                request,
                lang=lang,
                next_path=next_path,
                error=t["a_too_many"].format(minutes=minutes),
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            )
            response.headers["Retry-After"] = str(exc.retry_after_s)
            return response
        context: GatewayContext = request.app.state.context
        async with context.sessions() as session:
            try:
                user = await authenticate(session, username, password)
            except AuthError:
                attempt.failed()
                log.info("page sign-in refused for %r", username)
                return sign_in_form(
                    request,
                    lang=lang,
                    next_path=next_path,
                    error=t["a_failed"],
                    status_code=status.HTTP_401_UNAUTHORIZED,
                )
            attempt.succeeded()
            await rehash_if_needed(session, user, password)
            session_token = new_token()
            ttl_s = context.settings.gateway.token_ttl_s
            await WebSessionRepository(session).start(
                token_hash(session_token),
                user.username,
                account_epoch=user.token_epoch,
                now=datetime.now(UTC),
                ttl_s=ttl_s,
            )
            await session.commit()
        log.info("%s %r signed in on the pages", user.role, user.username)
        onward = RedirectResponse(next_path, status.HTTP_303_SEE_OTHER)
        onward.set_cookie(
            SESSION_COOKIE,
            session_token,
            max_age=ttl_s,
            path="/",
            httponly=True,
            # Lax, not Strict: a link to an alarm from a message or another site must open
            # the page signed in; the writes are guarded by the CSRF token, not by SameSite.
            samesite="lax",
            secure=_cookie_secure(request),
        )
        onward.delete_cookie(LOGIN_COOKIE, path="/login")
        return onward

    @router.post("/logout")
    async def sign_out(
        request: Request,
        csrf_token_field: Annotated[str, Form(alias=CSRF_FIELD, max_length=200)] = "",
        lang: Annotated[str, Form(pattern="^(zh|en)$")] = "zh",
    ) -> Response:
        """End the session here and in the browser; then the sign-in page. Without the
        page's CSRF token nothing happens (another site must not sign people out)."""
        session_token = request.cookies.get(SESSION_COOKIE)
        context: GatewayContext = request.app.state.context
        if session_token:
            if not hmac.compare_digest(
                csrf_token(context.token_secret, session_token), csrf_token_field
            ):
                raise HTTPException(
                    status.HTTP_403_FORBIDDEN,
                    detail="missing or wrong CSRF token: reload the page and sign out again",
                )
            async with context.sessions() as session:
                await WebSessionRepository(session).end(
                    token_hash(session_token), now=datetime.now(UTC)
                )
                await session.commit()
        target = f"/login?lang={lang}&signed_out=true"
        response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router
