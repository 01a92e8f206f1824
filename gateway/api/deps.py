"""FastAPI dependencies: the gateway context, a database session, the caller and their role."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.auth.tokens import Principal, decode_token
from gateway.auth.web_sessions import (
    CSRF_HEADER,
    SESSION_COOKIE,
    UNSAFE_METHODS,
    csrf_matches,
    token_hash,
)
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.errors import AuthError, NotFound
from gateway.reports.period import FIRST_YEAR, LAST_YEAR
from gateway.settings import School, Settings
from gateway.storage.users import UserRepository
from gateway.storage.web_sessions import WebSessionRepository

log = logging.getLogger("gateway.api.auth")

TOKEN_URL = "/api/v1/auth/token"
# auto_error=False: we raise our own 401 so every refusal has the same shape and header.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_context(request: Request) -> GatewayContext:
    context: GatewayContext = request.app.state.context
    return context


Context = Annotated[GatewayContext, Depends(get_context)]


async def db_session(context: Context) -> AsyncIterator[AsyncSession]:
    """One session per request; uncommitted work is rolled back when the request ends."""
    async with context.sessions() as session:
        yield session


DbSession = Annotated[AsyncSession, Depends(db_session)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def unprocessable(
    location: tuple[str, ...], message: str, kind: str = "value_error"
) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, for checks pydantic cannot make.
    `kind` is the error's `type`, for clients that act on it."""
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[{"type": kind, "loc": list(location), "msg": message}],
    )


async def principal_for_token(
    context: GatewayContext, session: AsyncSession, token: str | None
) -> Principal:
    """The caller. The account is read again on every request (one query, by its unique
    username) so that a token of a removed or disabled account, or one issued before the
    account last changed (its epoch: a reset password, a new role or scope), is refused at
    once rather than when it expires. Role and scope are compared too, for an account
    changed by a gateway from before the epochs (0014), which left its epoch as it was."""
    if token is None:
        raise unauthorized(
            "not signed in: send Authorization: Bearer <token>, or sign in on the pages"
        )
    try:
        principal = decode_token(context.token_secret, token)
    except AuthError as exc:
        raise unauthorized(f"{exc}: sign in again") from exc
    try:
        user = await UserRepository(session).get_by_username(principal.username)
    except NotFound:
        user = None
    if (
        user is None
        or user.disabled
        or user.role != principal.role.value
        or user.school_id != principal.school_id
        or user.station != principal.station
        or user.district != principal.district
        or user.token_epoch != principal.epoch
    ):
        raise unauthorized("the account has changed or been disabled: sign in again")
    return principal


async def principal_for_session(
    context: GatewayContext, session: AsyncSession, session_token: str
) -> Principal:
    """The account signed in on the pages with this session cookie. A session started before
    the account last changed (its epoch), of a disabled or removed account, or ended, is a
    401; a role or scope changed by a gateway from before the epochs applies at once."""
    now = datetime.now(UTC)
    try:
        web_session = await WebSessionRepository(session).active(token_hash(session_token), now=now)
        user = await UserRepository(session).get_by_username(web_session.username)
    except NotFound:
        raise unauthorized("the session has ended: sign in again") from None
    if user.disabled:
        raise unauthorized("the account has been disabled")
    if web_session.account_epoch != user.token_epoch:
        raise unauthorized("the account has changed: sign in again")
    return Principal(
        username=user.username,
        role=Role(user.role),
        school_id=user.school_id,
        expires_at=web_session.expires_at,
        station=user.station,
        district=user.district,
    )


def check_csrf(request: Request, context: GatewayContext, session_token: str) -> None:
    """A write signed in by the cookie must carry the page's CSRF token: the browser sends
    the cookie with a forged form from another site too, but not the token."""
    if request.method in UNSAFE_METHODS and not csrf_matches(
        context.token_secret, session_token, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"missing or wrong {CSRF_HEADER} header: reload the page and try again",
        )


async def current_principal(
    request: Request,
    context: Context,
    session: DbSession,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Principal:
    """The caller: by bearer token (API clients), else by the pages' session cookie."""
    session_token = request.cookies.get(SESSION_COOKIE)
    if token is None and session_token:
        principal = await principal_for_session(context, session, session_token)
        check_csrf(request, context, session_token)
    else:
        principal = await principal_for_token(context, session, token)
    # What this request writes is recorded in the audit log as done by this account.
    session.info["actor"] = principal.username
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the caller when their role is one of `roles` (admin always is),
    403 otherwise."""
    allowed = ", ".join(sorted({*roles, Role.ADMIN}))

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                detail=f"role {principal.role} may not use this (allowed: {allowed})",
            )
        return principal

    return dependency


def account_scope(principal: Principal, settings: Settings) -> list[str] | None:
    """The schools an account may see, in configuration order; None for every school.

    An admin sees every school. Otherwise each scope the account has narrows the schools:
    its school (a guard), its police station (`schools[].police_station`), its district
    (`schools[].district`). A police or inspector account with none of them is city level and
    sees every school; a guard with no school sees none (docs/decisions.md, "Who sees which
    school"). A scope that no configured school matches any more sees nothing: a
    configuration change must not widen an account."""
    if principal.role is Role.ADMIN:
        return None
    if principal.school_id is None and principal.station is None and principal.district is None:
        return [] if principal.role is Role.GUARD else None
    return [school.id for school in settings.schools if _within(principal, school)]


def _within(principal: Principal, school: School) -> bool:
    return (
        principal.school_id in (None, school.id)
        and principal.station in (None, school.police_station)
        and principal.district in (None, school.district)
    )


def describe_scope(principal: Principal) -> str:
    """The account as a refusal names it: "police of station '城关派出所'"."""
    if principal.school_id is not None:
        return f"{principal.role} of school {principal.school_id!r}"
    if principal.station is not None:
        return f"{principal.role} of police station {principal.station!r}"
    if principal.district is not None:
        return f"{principal.role} of district {principal.district!r}"
    return f"{principal.role} tied to no school"


def visible_schools(
    principal: Principal, settings: Settings, requested: str | None
) -> list[str] | None:
    """The schools a request may see: None for every school, else their ids (`requested`
    alone when it is given). Asking for a school outside the account's scope is a 403: school
    ids are the site's configuration, not records, so naming one reveals nothing."""
    if requested is not None and settings.school(requested) is None:
        known = ", ".join(school.id for school in settings.schools)
        raise unprocessable(("query", "school"), f"no school {requested!r} (known: {known})")
    scope = account_scope(principal, settings)
    if requested is None:
        return scope
    if scope is not None and requested not in scope:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            detail=f"{describe_scope(principal)} may not see school {requested!r}",
        )
    return [requested]


def may_see(principal: Principal, settings: Settings, school_id: str) -> bool:
    """Whether a record of `school_id` is within the account's scope. A record (an alarm, a
    notice, a ticket) found by its id outside it is answered as not found, so that ids
    cannot be probed for what other schools hold."""
    scope = account_scope(principal, settings)
    return scope is None or school_id in scope


LocalDay = Annotated[
    date | None,
    Query(alias="date", description="Local day YYYY-MM-DD (default: today, so far)"),
]
SchoolFilter = Annotated[
    str | None, Query(description="School id (default: every school you may see)")
]


def check_year(location: tuple[str, ...], day: date) -> None:
    """A 422 for a date outside the years the gateway keeps: before 2000 nothing was
    recorded, and year 1 or 9999 would overflow on the way to UTC."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise unprocessable(
            location, f"{day:%Y-%m} is outside the years kept ({FIRST_YEAR} to {LAST_YEAR})"
        )


def local_day(context: GatewayContext, day: date | None) -> tuple[date, datetime]:
    """The asked local day (default today) and now (UTC); a day not begun yet is a 422."""
    zone = context.settings.gateway.zone
    now = datetime.now(UTC)
    day = day or now.astimezone(zone).date()
    check_year(("query", "date"), day)
    if datetime.combine(day, datetime.min.time(), tzinfo=zone) > now:
        raise unprocessable(("query", "date"), f"{day} has not begun yet in {zone.key}")
    return day, now
