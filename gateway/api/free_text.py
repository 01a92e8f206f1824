"""Which text from a request is free text (a note, a description, a feedback, a tag read off
a poster): tab, line feed and CR allowed. Every other string (ids, names, people, dates) is
held to the identifier rule of `gateway.text.require_safe_text`.

A field is marked by its type, `FreeText`, wherever it is declared: a request body's
field, a form field or a query parameter; also inside `| None` or `list[...]`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin


@dataclass(frozen=True, slots=True)
class _FreeTextMark:
    """Metadata pydantic ignores; `marks_free_text` looks for it."""


FREE_TEXT = _FreeTextMark()
FreeText = Annotated[str, FREE_TEXT]


def marks_free_text(annotation: Any, metadata: tuple[Any, ...] | list[Any] = ()) -> bool:
    """Whether a field declared with `annotation` (and, when pydantic has lifted a top-level
    `Annotated`, its `metadata`) is free text."""
    if any(item is FREE_TEXT for item in metadata):
        return True
    if get_origin(annotation) is Annotated:
        base, *extras = get_args(annotation)
        return any(item is FREE_TEXT for item in extras) or marks_free_text(base)
    return any(marks_free_text(argument) for argument in get_args(annotation))
