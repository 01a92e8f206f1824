"""Text that may not be stored, sent to every route of the OpenAPI document and to the pages'
forms, on SQLite and PostgreSQL (issue 17): a 422 in FastAPI's shape, never a 5xx.

Before, a JSON body with a lone surrogate (`"\\ud800"`, valid JSON) got 500 on every JSON
route (FastAPI's 422 echoed the character and could not be encoded; a body that passed
validation took it to SQLite, which cannot encode it), and a NUL in a path (`alarm_id`), a
query or a form field (the sign-in `username`) reached PostgreSQL, which cannot hold it.

Each route gets, in turn, the bad character in: a stray field (`{"x": ...}`); every string
of an otherwise well-formed body (enums, dates and numbers filled in, nested records too);
every string of its form; each path parameter; each string query parameter."""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio

from gateway.app import create_app
from tests.integration.test_rbac_table import (
    OPERATIONS,
    POSTGRES_URL,
    Gateway,
    postgres_schema,
    route_id,
    running_gateway,
    settings_for,
)

BAD = {"surrogate": "\ud800", "nul": "\x00", "control": "\x1b"}
# A URL (path or query) cannot carry a lone surrogate: UTF-8 has no bytes for it.
BAD_IN_URL = {"nul": "\x00", "control": "\x01", "line feed": "\n"}
WRITES = sorted(r for r in OPERATIONS if r[0] in {"POST", "PUT", "PATCH"})
REQUEST_TIMEOUT_S = 10.0


def _components() -> Mapping[str, Any]:
    app = create_app(settings_for("sqlite+aiosqlite:///unused.db", None), run_runtime=False)
    schemas: Mapping[str, Any] = app.openapi()["components"]["schemas"]
    return schemas


SCHEMAS = _components()


def _resolve(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def filled(schema: Mapping[str, Any], bad: str, number: float | None = None) -> Any:
    """A value of `schema` whose every plain string is `bad` (and every number `number`,
    if given), the rest well formed."""
    schema = _resolve(schema)
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if _resolve(s).get("type") != "null"]
        return filled(options[0], bad, number)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: filled(sub, bad, number) for name, sub in properties.items()}
    if kind == "array":
        return [filled(schema.get("items", {}), bad, number)]
    if kind in ("integer", "number") and number is not None:
        return number
    if kind in ("integer", "number"):
        return schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return datetime.now(UTC).isoformat()
    if schema.get("format") == "date":
        return datetime.now(UTC).date().isoformat()
    return f"a{bad}b"


def _path(route: tuple[str, str], operation: Mapping[str, Any], value: str = "x") -> str:
    path = route[1]
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", value)
    return path


def _json_bodies(schema: Mapping[str, Any], bad: str) -> Iterator[tuple[str, Any]]:
    yield "a stray field", {"x": bad}
    yield "every string", filled(schema, bad)


def _form_fields(schema: Mapping[str, Any], bad: str) -> tuple[dict[str, str], dict[str, Any]]:
    """(text fields, files): every string field `bad`, every file a small one."""
    fields: dict[str, str] = {}
    files: dict[str, Any] = {}
    for name, sub in _resolve(schema).get("properties", {}).items():
        sub = _resolve(sub)
        options = sub.get("anyOf", [sub])
        if any(_resolve(o).get("format") == "binary" for o in options):
            files[name] = ("file.csv", b"guard,tag,at\n", "text/csv")
        elif any(_resolve(o).get("type") == "string" for o in options):
            fields[name] = f"a{bad}b"
    return fields, files


def hostile_requests(bad: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, httpx.request arguments) for every write of the document."""
    for route in WRITES:
        operation = OPERATIONS[route]
        content = operation.get("requestBody", {}).get("content", {})
        url = _path(route, operation)
        for media, body in content.items():
            schema = body.get("schema", {})
            if media == "application/json":
                for what, value in _json_bodies(schema, bad):
                    # json.dumps writes the surrogate as its escape, as an attacker would.
                    yield (
                        f"{route_id(route)} ({what})",
                        {
                            "method": route[0],
                            "url": url,
                            "content": json.dumps(value),
                            "headers": {"Content-Type": "application/json"},
                        },
                    )
            elif bad != BAD["surrogate"]:  # a form is bytes: no surrogate survives decoding
                fields, files = _form_fields(schema, bad)
                request: dict[str, Any] = {"method": route[0], "url": url, "data": fields}
                if media == "multipart/form-data":
                    request["files"] = files or {"unused": ("x", b"", "text/plain")}
                yield f"{route_id(route)} (form: every string)", request


def url_requests(bad: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, arguments) with `bad` in each path parameter and each string query parameter
    of every route."""
    for route, operation in sorted(OPERATIONS.items()):
        for parameter in operation.get("parameters", []):
            schema = _resolve(parameter.get("schema", {}))
            options = schema.get("anyOf", [schema])
            plain = any(
                _resolve(o).get("type") == "string"
                and "format" not in _resolve(o)
                and "enum" not in _resolve(o)
                for o in options
            )
            what = f"{route_id(route)} ({parameter['in']} {parameter['name']})"
            if parameter["in"] == "path":
                url = route[1].replace("{" + parameter["name"] + "}", quote(f"a{bad}b", safe=""))
                yield what, {"method": route[0], "url": _path((route[0], url), operation)}
            elif parameter["in"] == "query" and plain:
                yield (
                    what,
                    {
                        "method": route[0],
                        "url": _path(route, operation),
                        "params": {parameter["name"]: f"a{bad}b"},
                    },
                )


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["sqlite", "postgresql"])
async def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gateway]:
    if request.param == "sqlite":
        folder: Path = tmp_path_factory.mktemp("hostile")
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


async def _send(gateway: Gateway, arguments: dict[str, Any]) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {gateway.tokens['admin']}"}
    headers.update(arguments.pop("headers", {}))
    async with (
        asyncio.timeout(REQUEST_TIMEOUT_S),
        gateway.client.stream(**arguments, headers=headers) as response,
    ):
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return response.status_code, "(a stream)"
        return response.status_code, (await response.aread()).decode()


def _readable_422(status: int, body: str) -> str | None:
    """What is wrong with the answer, or None for a 422 in FastAPI's shape naming the
    character."""
    if status != 422:
        return f"{status}, not 422"
    detail = json.loads(body).get("detail")
    if not isinstance(detail, list) or not all({"loc", "msg"} <= set(d) for d in detail):
        return "not FastAPI's shape {'detail': [{'loc', 'msg', ...}]}"
    return None


def test_the_document_has_the_writes_the_issue_found() -> None:
    """The loops below cover what the attacker's test hit (and every write since)."""
    json_writes = [
        r
        for r in WRITES
        if "application/json" in OPERATIONS[r].get("requestBody", {}).get("content", {})
    ]
    assert len(json_writes) >= 9, json_writes
    forms = [r for r in WRITES if r not in json_writes and OPERATIONS[r].get("requestBody")]
    assert ("POST", "/api/v1/auth/token") in forms


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("bad", list(BAD.values()), ids=list(BAD))
async def test_every_write_refuses_unsafe_text_with_a_422(gateway: Gateway, bad: str) -> None:
    problems = []
    for what, arguments in hostile_requests(bad):
        status, body = await _send(gateway, arguments)
        problem = _readable_422(status, body)
        if problem is not None:
            problems.append(f"{what}: {problem}: {body[:200]}")
    assert not problems, "\n".join(problems)


NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("number", list(NON_FINITE.values()), ids=list(NON_FINITE))
async def test_every_write_refuses_a_number_json_does_not_have(
    gateway: Gateway, number: float
) -> None:
    """Python's JSON reader takes `NaN` and `Infinity`; echoed in FastAPI's 422 they made it
    a 500 (found by the hostile-input suite), and a number field took them."""
    problems = []
    seen = 0
    for route in WRITES:
        operation = OPERATIONS[route]
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue
        schema = content["application/json"].get("schema", {})
        bodies = {"a stray field": {"x": number}, "every number": filled(schema, "", number)}
        for what, body in bodies.items():
            if json.dumps(number) not in json.dumps(body):
                continue  # this body has no number field
            seen += 1
            arguments = {
                "method": route[0],
                "url": _path(route, operation),
                "content": json.dumps(body),  # NaN, Infinity: as Python writes them
                "headers": {"Content-Type": "application/json"},
            }
            status, answer = await _send(gateway, arguments)
            problem = _readable_422(status, answer)
            if problem is not None:
                problems.append(f"{route_id(route)} ({what}): {problem}: {answer[:200]}")
    assert seen >= 10
    assert not problems, "\n".join(problems)


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("bad", list(BAD_IN_URL.values()), ids=list(BAD_IN_URL))
async def test_every_path_and_query_refuses_unsafe_text_with_a_422(
    gateway: Gateway, bad: str
) -> None:
    problems = []
    seen = 0
    for what, arguments in url_requests(bad):
        seen += 1
        status, body = await _send(gateway, arguments)
        problem = _readable_422(status, body)
        if problem is not None:
            problems.append(f"{what}: {problem}: {body[:200]}")
    assert seen >= 15
    assert not problems, "\n".join(problems)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_answer_names_the_parameter_and_the_character(gateway: Gateway) -> None:
    status, body = await _send(
        gateway, {"method": "POST", "url": "/api/v1/alarms/a%00b/actions", "json": {}}
    )
    assert status == 422
    assert json.loads(body) == {
        "detail": [
            {
                "type": "unsafe_text",
                "loc": ["path", "alarm_id"],
                "msg": "the text holds the NUL character (U+0000) at position 1",
            }
        ]
    }
    status, body = await _send(
        gateway,
        {
            "method": "POST",
            "url": "/api/v1/alarms/a1/actions",
            "content": '{"stage": "acknowledged", "x": "\\ud800"}',
            "headers": {"Content-Type": "application/json"},
        },
    )
    assert status == 422
    [error] = json.loads(body)["detail"]
    assert error["loc"] == ["body", "x"]
    assert error["input"] == "\\ud800"  # the escape, as text: the answer can be encoded
    status, body = await _send(
        gateway,
        {
            "method": "POST",
            "url": "/api/v1/auth/token",
            "data": {"username": "admin\x00", "password": "x"},
        },
    )
    assert status == 422, body  # bad input, not a wrong password (a 401 before)
    assert [e["loc"] for e in json.loads(body)["detail"]] == [["body", "username"]]
    # A password is free text (hashed, never stored): a tab is only a wrong password.
    tabbed = {"username": "admin", "password": "wrong\tpassword"}
    status, body = await _send(
        gateway, {"method": "POST", "url": "/api/v1/auth/token", "data": tabbed}
    )
    assert status == 401, body


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("bad", list(BAD_IN_URL.values()), ids=list(BAD_IN_URL))
async def test_the_pages_sign_in_form_refuses_unsafe_text(gateway: Gateway, bad: str) -> None:
    """The pages' own form (not in the document): with its CSRF token, so that the text
    would reach the account lookup."""
    async with httpx.AsyncClient(
        transport=gateway.client._transport, base_url="http://gateway.test"
    ) as browser:
        page = await browser.get("/login")
        assert page.status_code == 200
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found is not None, page.text[:500]
        answer = await browser.post(
            "/login",
            data={"csrf_token": found.group(1), "username": f"admin{bad}", "password": "x" * 12},
        )
    assert answer.status_code == 422, answer.text[:300]
    assert answer.json()["detail"][0]["loc"] == ["body", "username"]
