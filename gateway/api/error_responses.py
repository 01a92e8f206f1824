"""The error answers of the API, declared in the OpenAPI document so that a client (and the
schemathesis test) knows every status code a route can give. FastAPI documents 200 and 422
by itself; the rest are declared here, once, and attached per router or per route."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class ErrorOut(BaseModel):
    """Every refusal: a sentence, or FastAPI's list of problems for a 422."""

    detail: str | list[dict[str, Any]]


def _answer(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


SIGNED_IN: dict[int | str, dict[str, Any]] = {
    401: _answer("not signed in, or the token is no longer valid: sign in again"),
    403: _answer("the account's role or scope does not allow this"),
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: _answer("no such record among the schools the account sees"),
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: _answer("the record's state does not allow this now"),
}
