"""Text a route takes outside a JSON body (its path, its query, its form fields) checked in
one place, a dependency of the routers, with the rule of request bodies
(`gateway.text.require_safe_text`; `FreeText` fields, and passwords, allow tab, LF, CR).

A NUL in `/alarms/{alarm_id}/actions` reached PostgreSQL, which cannot hold it, and answered
500; now any parameter the route declares answers 422 in FastAPI's own shape
(`{"detail": [{"type", "loc", "msg"}]}`) before the route (or its role check, which reads
only the token) runs. Parameters a route does not declare are ignored, as FastAPI ignores
them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.params import Form
from fastapi.routing import APIRoute

from gateway.api.free_text import marks_free_text
from gateway.errors import UnsafeText
from gateway.text import require_safe_text


async def refuse_unsafe_text(request: Request) -> None:
    """422 when a declared path, query or form parameter holds text that may not be stored."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    problems: list[dict[str, Any]] = []
    form = None
    # A parameter several dependencies share (the token of each role check) counts once.
    declared = {(where, field.alias): field for where, field in _declared(route.dependant)}
    for (where, _), field in declared.items():
        if where == "path":
            values: list[Any] = [request.path_params.get(field.alias)]
        elif where == "query":
            values = request.query_params.getlist(field.alias)
        else:
            if form is None:  # parsed already, for the route: this is the same form
                form = await request.form()
            values = form.getlist(field.alias)
        free_text = _is_free_text(field.field_info)
        for value in values:
            if not isinstance(value, str):
                continue  # an uploaded file: its route reads and checks its content
            try:
                require_safe_text(value, free_text=free_text)
            except UnsafeText as exc:
                problems.append(
                    {"type": "unsafe_text", "loc": [where, field.alias], "msg": f"the text {exc}"}
                )
    if problems:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail=problems)


def _declared(dependant: Dependant) -> Iterator[tuple[str, Any]]:
    """(where, field) for every path, query and form parameter of the route and of its
    dependencies (the OAuth2 sign-in form is one)."""
    for field in dependant.path_params:
        yield "path", field
    for field in dependant.query_params:
        yield "query", field
    for field in dependant.body_params:
        if isinstance(field.field_info, Form):
            yield "body", field
    for sub in dependant.dependencies:
        yield from _declared(sub)


def _is_free_text(info: Any) -> bool:
    # A password is hashed, never stored or shown as text: it may hold what free text may.
    extra = info.json_schema_extra
    secret = isinstance(extra, dict) and extra.get("format") == "password"
    return secret or marks_free_text(info.annotation, info.metadata)
