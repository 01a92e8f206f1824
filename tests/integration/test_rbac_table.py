"""The RBAC table (issue 7): for every route in the OpenAPI document, the roles that may call
it, checked against the running app on SQLite and PostgreSQL for an anonymous caller and
one account of each role.

RULES below is the specification, written out by hand so that an auditor can read it; it was
taken from the routes' `require_roles(...)` / `CurrentPrincipal` dependencies. A new route
fails `test_every_route_has_a_rule` until a rule is written for it, and a rule whose route
is gone fails it too. What each caller must get (spec 5: no token 401, a wrong role 403):

- a PUBLIC route: never 401 or 403;
- anonymous on any other route: 401 with `WWW-Authenticate: Bearer`;
- a role the rule does not name: 403 (admin is in every rule);
- a role the rule names: neither 401 nor 403 (a 404 for a placeholder id, or a 422 for the
  empty body, means the caller got past the check);
- never a 5xx.

Every request carries an empty body (`{}` for JSON, nothing for a form), which most routes
refuse: so each 401 and 403 seen here also shows that the role check runs before the input
is validated, and that a 422 cannot stand in for a missing check."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.app import create_app
from gateway.auth.passwords import hash_password
from gateway.context import GatewayContext
from gateway.domain import Role
from gateway.settings import Settings, parse_settings
from gateway.storage.users import UserRepository
from tests.support.asgi_stream import StreamingASGITransport
from tests.support.services import POSTGRES_URL, missing
from tests.support.site import site_tree

GUARD, POLICE, INSPECTOR, ADMIN = Role.GUARD, Role.POLICE, Role.INSPECTOR, Role.ADMIN
PUBLIC: Final = "public"
Rule = Literal["public"] | frozenset[Role]


def allow(*roles: Role) -> frozenset[Role]:
    """The roles a route lets in: admin passes every role check (`Principal.has_role`)."""
    return frozenset({*roles, ADMIN})


ANY_ROLE = allow(GUARD, POLICE, INSPECTOR)

# (method, path template as in the OpenAPI document) -> who may call it.
RULES: dict[tuple[str, str], Rule] = {
    # Liveness, readiness and metrics: open, like any Prometheus target; and signing in.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("GET", "/api/v1/auth/me"): ANY_ROLE,
    # Alarms: guards see their own school's; only the police move an alarm on.
    ("GET", "/api/v1/alarms"): ANY_ROLE,
    ("POST", "/api/v1/alarms/{alarm_id}/actions"): allow(POLICE),
    ("GET", "/api/v1/alarms/{alarm_id}/snapshot"): ANY_ROLE,
    ("GET", "/api/v1/schools"): ANY_ROLE,
    # The police console's live feed (token in the query: EventSource sends no header).
    ("GET", "/api/v1/live"): allow(POLICE),
    # Gate posts: everyone reads, a guard checks in and out at his own school.
    ("GET", "/api/v1/gates"): ANY_ROLE,
    ("POST", "/api/v1/gates/{school_id}/{gate_id}/check-in"): allow(GUARD),
    ("POST", "/api/v1/gates/{school_id}/{gate_id}/check-out"): allow(GUARD),
    # Compliance: everyone reads (a guard his own school); the quarter's rating is not the
    # guards'.
    ("GET", "/api/v1/compliance/gate-staffing"): ANY_ROLE,
    ("GET", "/api/v1/compliance/patrols"): ANY_ROLE,
    ("GET", "/api/v1/compliance/alarm-tests"): ANY_ROLE,
    ("GET", "/api/v1/compliance/guards"): ANY_ROLE,
    ("GET", "/api/v1/compliance/calendar"): ANY_ROLE,
    ("GET", "/api/v1/compliance/ratings"): allow(POLICE, INSPECTOR),
    # Patrols: only a guard records scans (his own); everyone reads.
    ("POST", "/api/v1/patrols/scans"): allow(GUARD),
    ("GET", "/api/v1/patrols/scans"): ANY_ROLE,
    ("POST", "/api/v1/patrols/scans/photo"): allow(GUARD),
    ("POST", "/api/v1/patrols/uploads"): allow(GUARD),
    ("POST", "/api/v1/patrols/uploads/csv"): allow(GUARD),
    ("GET", "/api/v1/patrols/due"): ANY_ROLE,
    # Monthly alarm tests: announced and recorded by the police or the education bureau.
    ("POST", "/api/v1/alarm-tests/notices"): allow(POLICE, INSPECTOR),
    ("GET", "/api/v1/alarm-tests/notices"): ANY_ROLE,
    ("POST", "/api/v1/alarm-tests/notices/{notice_id}/cancel"): allow(POLICE, INSPECTOR),
    ("PUT", "/api/v1/alarm-tests/{alarm_id}/testers"): allow(POLICE, INSPECTOR),
    ("GET", "/api/v1/alarm-tests/due"): ANY_ROLE,
    # Guard training records: kept by the police or the bureau, read by everyone.
    ("POST", "/api/v1/guards/{school_id}/{guard_id}/trainings"): allow(POLICE, INSPECTOR),
    ("GET", "/api/v1/guards/{school_id}/{guard_id}/trainings"): ANY_ROLE,
    # Hidden-danger tickets: everyone reads, the police or the bureau move them on.
    ("GET", "/api/v1/hazards"): ANY_ROLE,
    ("POST", "/api/v1/hazards/{ticket_id}/steps"): allow(POLICE, INSPECTOR),
    # The monthly report, and the tamper-evident log's verification (the inspector's).
    ("GET", "/api/v1/reports/monthly"): allow(POLICE, INSPECTOR),
    ("GET", "/api/v1/audit/verify"): allow(INSPECTOR),
}

# Where the table disagrees with the app today, each with why (strict: once the app is
# fixed the case passes, fails as XPASS, and its line here must go).
KNOWN_DEVIATIONS: dict[tuple[str, str, str], str] = {}

SCHOOL = "fy-dongguan-ms"  # the guard's school
PASSWORD = "rbac-table-password"
ACCOUNTS: dict[str, tuple[Role, str | None]] = {
    "guard": (GUARD, SCHOOL),
    "police": (POLICE, None),
    "inspector": (INSPECTOR, None),
    "admin": (ADMIN, None),
}
CALLERS = ["anonymous", *ACCOUNTS]
REQUEST_TIMEOUT_S = 10.0
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def settings_for(database_url: str, schema: str | None) -> Settings:
    return parse_settings(
        site_tree(
            mqtt_url="mqtt://127.0.0.1:1",  # never dialled: the app runs without its runtime
            database_url=database_url,
            database_schema=schema,
            police_urls={},
        )
    )


def openapi_operations() -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path) -> operation, from the app's OpenAPI document (no database needed)."""
    app = create_app(settings_for("sqlite+aiosqlite:///unused.db", None), run_runtime=False)
    return {
        (method.upper(), path): operation
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


# Collected from the document, not from RULES: a route without a rule is a failing case.
OPERATIONS = openapi_operations()
ROUTES = sorted(OPERATIONS)


def route_id(route: tuple[str, str]) -> str:
    return f"{route[0]} {route[1]}"


def test_every_route_has_a_rule() -> None:
    documented, ruled = set(OPERATIONS), set(RULES)
    problems = [f"no rule in RULES for {route_id(r)}" for r in sorted(documented - ruled)]
    problems += [f"a rule for {route_id(r)}, not in the API" for r in sorted(ruled - documented)]
    assert not problems, "\n".join(problems)


def test_the_document_declares_what_the_table_says() -> None:
    """/docs shows a lock on the routes that need a token (or takes it in the query, the live
    feed): the same routes the table says are not public."""
    wrong = []
    for route, rule in sorted(RULES.items()):
        operation = OPERATIONS.get(route)
        if operation is None:
            continue  # test_every_route_has_a_rule says so
        wants_token = bool(operation.get("security")) or _takes_query_token(operation)
        if wants_token == (rule == PUBLIC):
            wrong.append(f"{route_id(route)}: {'a token' if wants_token else 'no token'}")
    assert not wrong, "the OpenAPI document disagrees with RULES:\n" + "\n".join(wrong)


def test_the_table_can_fail() -> None:
    """The checks themselves: a rule dropped or a role changed is caught."""
    assert _expected_problem(ANY_ROLE, "guard", 403, {}) is not None
    assert _expected_problem(allow(POLICE), "guard", 200, {}) is not None
    assert _expected_problem(allow(POLICE), "anonymous", 401, {}) is not None  # no header
    assert _expected_problem(allow(POLICE), "anonymous", 422, {}) is not None
    assert _expected_problem(PUBLIC, "anonymous", 401, {}) is not None
    assert _expected_problem(PUBLIC, "admin", 503, {}) is not None
    assert _expected_problem(allow(INSPECTOR), "police", 403, {}) is None


@dataclass(frozen=True, slots=True)
class Gateway:
    client: httpx.AsyncClient
    tokens: Mapping[str, str]  # caller -> bearer token


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A fresh schema for this module's gateway, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except (OSError, ConnectionError) as exc:
        await admin.dispose()
        missing(
            "PostgreSQL at 127.0.0.1:5432 (database test)", f"apt-get install postgresql ({exc})"
        )
    try:
        yield schema
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()


async def add_accounts(context: GatewayContext) -> None:
    stored = hash_password(PASSWORD)  # once: Argon2 is slow on purpose
    async with context.sessions() as session:
        users = UserRepository(session)
        for username, (role, school) in ACCOUNTS.items():
            await users.add_or_update(username, stored, role, school)
        await session.commit()


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The real app (API, health, pages; no runtime) in-process, with one account per role
    signed in through the token endpoint."""
    app = create_app(settings, run_runtime=False)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30) as manager:
        await add_accounts(app.state.context)
        transport = StreamingASGITransport(manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
            tokens = {}
            for username in ACCOUNTS:
                response = await http.post(
                    "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
                )
                assert response.status_code == 200, response.text
                tokens[username] = response.json()["access_token"]
            yield Gateway(http, tokens)


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    """One gateway per backend for the whole table: building one per case would be slow."""
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("rbac")
        async with running_gateway(
            settings_for(f"sqlite+aiosqlite:///{folder / 'campus.db'}", None)
        ) as gw:
            yield gw
        return
    async with (
        postgres_schema() as schema,
        running_gateway(settings_for(POSTGRES_URL, schema)) as gw,
    ):
        yield gw


def _takes_query_token(operation: Mapping[str, Any]) -> bool:
    return any(
        p["in"] == "query" and p["name"] == "access_token" for p in operation.get("parameters", [])
    )


def _placeholder(parameter: Mapping[str, Any]) -> str:
    """A value of the parameter's type. A school is the guard's own, so that his being held to
    his school (`visible_schools`, check-in) does not answer 403 for a role let in."""
    if parameter["name"] == "school_id":
        return SCHOOL
    schema = parameter.get("schema", {})
    types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
    return "1" if types & {"integer", "number"} else "x"


def build_request(
    route: tuple[str, str], operation: Mapping[str, Any], token: str | None
) -> dict[str, Any]:
    """httpx.request arguments: placeholders for the path and required query, the token (as a
    bearer header, or in the query for a route taking `access_token`), an empty body."""
    method, path = route
    query: dict[str, str] = {}
    for parameter in operation.get("parameters", []):
        value = _placeholder(parameter)
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value)
        elif parameter["in"] == "query" and parameter["name"] == "access_token":
            if token is not None:
                query["access_token"] = token
        elif parameter["in"] == "query" and parameter.get("required"):
            query[parameter["name"]] = value
    assert "{" not in path, f"{route_id(route)}: a path parameter the document does not name"
    request: dict[str, Any] = {"method": method, "url": path, "params": query}
    if token is not None:
        request["headers"] = {"Authorization": f"Bearer {token}"}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        request["json"] = {}  # a form (multipart) gets no body at all
    return request


def _expected_problem(
    rule: Rule, caller: str, status: int, headers: Mapping[str, str]
) -> str | None:
    """What is wrong with `status` for `caller` under `rule`, or None."""
    if status >= 500:
        return f"a server error {status}"
    if rule == PUBLIC:
        return f"{status} on a public route" if status in (401, 403) else None
    if caller == "anonymous":
        if status != 401:
            return f"{status} without a token, not 401"
        if headers.get("www-authenticate", "").split(" ")[0] != "Bearer":
            return "a 401 without WWW-Authenticate: Bearer"
        return None
    if Role(caller) in rule:
        return f"{status} for a role the rule lets in" if status in (401, 403) else None
    return None if status == 403 else f"{status} for a role the rule shuts out, not 403"


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_each_role_gets_what_the_table_says(
    gateway: Gateway, route: tuple[str, str], caller: str, request: pytest.FixtureRequest
) -> None:
    rule = RULES.get(route)
    assert rule is not None, f"no rule in RULES for {route_id(route)}"
    deviation = KNOWN_DEVIATIONS.get((*route, caller))
    if deviation is not None:
        request.applymarker(pytest.mark.xfail(reason=deviation, strict=True))
    token = gateway.tokens.get(caller)
    arguments = build_request(route, OPERATIONS[route], token)
    # Only the status line and headers are waited for: the live feed never ends.
    async with (
        asyncio.timeout(REQUEST_TIMEOUT_S),
        gateway.client.stream(**arguments) as response,
    ):
        streaming = response.headers.get("content-type", "").startswith("text/event-stream")
        body = (
            "(a stream)" if streaming else (await response.aread())[:300].decode(errors="replace")
        )
    problem = _expected_problem(rule, caller, response.status_code, response.headers)
    sent = str(arguments) if token is None else str(arguments).replace(token, f"<{caller}'s token>")
    assert problem is None, (
        f"{route_id(route)} as {caller} (rule: {_describe(rule)}): {problem}\n"
        f"sent {sent}\ngot {response.status_code} {body}"
    )


def _describe(rule: Rule) -> str:
    return rule if isinstance(rule, str) else ", ".join(sorted(rule))
