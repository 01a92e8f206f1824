"""Every request body refuses text that may not be stored (`gateway.text`: NUL, which
PostgreSQL cannot store, a 500 found by schemathesis; a lone surrogate, a 500 on SQLite;
control characters outside free text), nested records and lists included, and every JSON
body of the API is such a model, so that a new route cannot forget the check."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from pydantic import Field, ValidationError

from gateway.api.alarm_test_schemas import NoticeIn
from gateway.api.alarms import AlarmActionIn
from gateway.api.free_text import FreeText
from gateway.api.patrol_schemas import ScanIn, UploadIn
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


def test_a_lone_surrogate_is_refused_with_the_reason() -> None:
    """pydantic refuses one by itself in a string with a length or pattern, not in a plain
    `str` (a 500 on SQLite before: `ScanIn.school`)."""
    with pytest.raises(ValidationError) as caught:
        ScanIn.model_validate({"tag": "t", "school": "李\ud800"})
    [error] = caught.value.errors()
    assert error["loc"] == ("school",)
    assert error["type"] == "unsafe_text"
    assert error["msg"] == "the text holds a lone UTF-16 surrogate (U+D800) at position 1"


def test_a_name_is_held_to_the_identifier_rule_and_a_note_is_free_text() -> None:
    with pytest.raises(ValidationError) as caught:
        NoticeIn.model_validate(
            {"school": "s", "button": "b", "police_officer": "王警官\t", "bureau_staff": "李"}
        )
    assert "control character U+0009" in caught.value.errors()[0]["msg"]
    notice = NoticeIn.model_validate(
        {
            "school": "s",
            "button": "b",
            "police_officer": "王警官",
            "bureau_staff": "李",
            "note": "第一行\t甲\r\n第二行",
        }
    )
    assert notice.note == "第一行\t甲\r\n第二行"


@pytest.mark.parametrize("bad", ["\x00", "\ud800", "\x01", "\x1b", "\x85"])
def test_free_text_still_refuses_what_cannot_be_stored(bad: str) -> None:
    with pytest.raises(ValidationError) as caught:
        AlarmActionIn.model_validate({"stage": "acknowledged", "note": f"派出{bad}警"})
    assert [error["loc"] for error in caught.value.errors()] == [("note",)]


class Nested(RequestModel):
    names: list[str] = Field(default_factory=list)
    notes: list[FreeText] = Field(default_factory=list)
    by_key: dict[str, str] = Field(default_factory=dict)
    pair: tuple[str, int] | None = None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"names": ["ok", "b\ud800"]}, "item 1: the text holds a lone UTF-16 surrogate"),
        ({"names": ["a\tb"]}, "item 0: the text holds the control character U+0009"),
        ({"notes": ["ok", "x\x00"]}, "item 1: the text holds the NUL character"),
        ({"by_key": {"k": "v\x07"}}, "'k': the text holds the control character U+0007"),
        ({"by_key": {"k\ud800": "v"}}, "a key: the text holds a lone UTF-16 surrogate"),
        ({"pair": ["\x00", 1]}, "item 0: the text holds the NUL character"),
    ],
)
def test_strings_in_lists_tuples_and_mappings_are_checked(
    body: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Nested.model_validate(body)
    assert message in caught.value.errors()[0]["msg"]


def test_free_text_in_a_list_allows_line_breaks() -> None:
    assert Nested.model_validate({"notes": ["a\r\nb\tc"]}).notes == ["a\r\nb\tc"]


def _models(model: type[RequestModel]) -> list[type[RequestModel]]:
    found = []
    for sub in model.__subclasses__():
        found += [sub, *_models(sub)]
    return found


def test_the_free_text_fields_of_the_api() -> None:
    """What may hold line breaks, written out: notes, and a tag (a poster's QR may be any
    text, and a foreign one is kept as a suspicious scan). Everything else is an id, a name
    or a person."""
    import gateway.api.routes  # noqa: F401  (every request model of the API defined)

    free = {
        model.__name__: sorted(model._free_text_fields)
        for model in _models(RequestModel)
        if model.__module__.startswith("gateway.") and model._free_text_fields
    }
    assert free == {
        "AlarmActionIn": ["note"],
        "NoticeIn": ["note"],
        "ScanIn": ["tag"],
        "StepIn": ["note"],
        "TestersIn": ["note"],
        "UploadRecord": ["tag"],
    }


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
