"""Sign-in (OAuth2 password flow) and "who am I"."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.api.deps import Context, CurrentPrincipal, DbSession, account_scope, unauthorized
from gateway.api.schemas import PrincipalOut, TokenOut
from gateway.auth.login_limit import LoginAttempt
from gateway.auth.passwords import (
    hash_password,
    needs_rehash,
    reject_unknown_account,
    verify_password,
)
from gateway.auth.tokens import issue_token
from gateway.domain import Role
from gateway.errors import AuthError, NotFound
from gateway.storage.models import User
from gateway.storage.users import UserRepository

log = logging.getLogger("gateway.api.auth")

router = APIRouter(prefix="/auth", tags=["auth"])


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    """The account when the password matches; AuthError (one message for every cause)."""
    try:
        user = await UserRepository(session).get_by_username(username)
    except NotFound:
        user = None
    if user is None or user.disabled:
        # Argon2 runs in a worker thread: a sign-in must not hold up alarms on the event loop.
        await asyncio.to_thread(reject_unknown_account, password)  # always raises
    await asyncio.to_thread(verify_password, user.password_hash, password)
    return user


async def rehash_if_needed(session: AsyncSession, user: User, password: str) -> None:
    """Upgrade a hash made with older parameters. Best effort: a failure must not stop the
    sign-in, the next one tries again."""
    if not needs_rehash(user.password_hash):
        return
    try:
        user.password_hash = await asyncio.to_thread(hash_password, password)
        await session.commit()
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("could not upgrade the password hash of %r: %s", user.username, exc)


@router.post(
    "/token",
    response_model=TokenOut,
    responses={
        401: {"description": "wrong username or password"},
        429: {"description": "too many failed sign-ins: wait for Retry-After seconds"},
    },
)
async def sign_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    attempt: LoginAttempt,  # 429 here, before any password is checked (docs/security.md)
    context: Context,
    session: DbSession,
) -> TokenOut:
    """Exchange a username and password (form fields) for a bearer token."""
    try:
        user = await authenticate(session, form.username, form.password)
    except AuthError as exc:
        attempt.failed()
        log.info("sign-in refused for %r", form.username)
        raise unauthorized(str(exc)) from exc
    attempt.succeeded()
    await rehash_if_needed(session, user, form.password)
    role = Role(user.role)
    ttl_s = context.settings.gateway.token_ttl_s
    token = issue_token(
        context.token_secret,
        username=user.username,
        role=role,
        school_id=user.school_id,
        ttl_s=ttl_s,
        now=datetime.now(UTC),
        station=user.station,
        district=user.district,
        epoch=user.token_epoch,
    )
    log.info("%s %r signed in", role, user.username)
    return TokenOut(
        access_token=token,
        expires_in=ttl_s,
        role=role,
        username=user.username,
        school_id=user.school_id,
        station=user.station,
        district=user.district,
    )


@router.get("/me", response_model=PrincipalOut)
async def me(principal: CurrentPrincipal, context: Context) -> PrincipalOut:
    """The signed-in account, as its token says, and the schools it sees."""
    schools = account_scope(principal, context.settings)
    return PrincipalOut.of(principal, context.settings.gateway.zone, schools)
