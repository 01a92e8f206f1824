"""Every request body refuses text holding NUL (PostgreSQL cannot store it: a 500 before,
found by schemathesis), nested records included, and every JSON body of the API is such a
model, so that a new route cannot forget the check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from gateway.api.alarm_test_schemas import NoticeIn
from gateway.api.patrol_schemas import UploadIn
from gateway.api.request_model import RequestModel
from gateway.api.routes import build_api_router


def test_nul_in_a_field_is_refused_with_its_name() -> None:
    with pytest.raises(ValidationError) as caught:
        NoticeIn.model_validate(
            {"school": "s", "button": "b", "police_officer": "王\x00警官", "bureau_staff": "李"}
        )
    assert [error["loc"] for error in caught.value.errors()] == [("police_officer",)]
    assert "NUL" in caught.value.errors()[0]["msg"]


def test_nul_in_a_nested_record_is_refused() -> None:
    at = datetime(2026, 11, 30, 8, tzinfo=UTC).isoformat()
    good = {"guard": "guard-li", "tag": "t", "at": at}
    UploadIn.model_validate({"records": [good]})
    with pytest.raises(ValidationError) as caught:
        UploadIn.model_validate({"records": [good, {**good, "tag": "t\x00"}]})
    assert caught.value.errors()[0]["loc"] == ("records", 1, "tag")


def test_other_text_passes_untouched() -> None:
    notice = NoticeIn.model_validate(
        {"school": "s", "button": "b", "police_officer": "王警官\t", "bureau_staff": "李"}
    )
    assert notice.police_officer == "王警官\t"


def _subclasses(model: type) -> set[str]:
    found = set()
    for sub in model.__subclasses__():
        found |= {sub.__name__, *_subclasses(sub)}
    return found


def _references(schema: object) -> list[str]:
    if isinstance(schema, dict):
        own = [schema["$ref"]] if "$ref" in schema else []
        return own + [ref for value in schema.values() for ref in _references(value)]
    if isinstance(schema, list):
        return [ref for value in schema for ref in _references(value)]
    return []


def test_every_json_body_of_the_api_is_a_request_model() -> None:
    app = FastAPI()
    app.include_router(build_api_router())
    bodies = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            for reference in _references(schema):  # a body may be `Model | None`: anyOf
                bodies[f"{method.upper()} {path}"] = reference.rsplit("/", 1)[-1]
    assert len(bodies) >= 9, bodies
    checked = _subclasses(RequestModel)
    assert {route: name for route, name in bodies.items() if name not in checked} == {}
