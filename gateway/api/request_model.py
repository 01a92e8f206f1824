"""The base of every request body: what pydantic checks for all of them at once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from gateway.api.free_text import marks_free_text
from gateway.errors import UnsafeText
from gateway.text import require_safe_text


class RequestModel(BaseModel):
    """Text that may not be stored is bad input (422), with the reason
    (`gateway.text.require_safe_text`): a lone surrogate (SQLite cannot encode it), NUL
    (PostgreSQL cannot store it), a control character (no id or name has a use for one).
    Every string is checked, in lists, tuples and mappings too (a nested `RequestModel`
    checks its own); a field typed `FreeText` (`gateway.api.free_text`) also allows tab,
    line feed and CR. Checked here once rather than by each route. NaN and infinities
    (Python's JSON reader takes `NaN` and `Infinity`, JSON has neither) are no number."""

    # Merged into each subclass's own model_config.
    model_config = ConfigDict(allow_inf_nan=False)

    # The fields typed FreeText, found once per model class.
    _free_text_fields: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls._free_text_fields = frozenset(
            name
            for name, field in cls.model_fields.items()
            if marks_free_text(field.annotation, field.metadata)
        )

    @field_validator("*", mode="after")
    @classmethod
    def _safe_text(cls, value: Any, info: ValidationInfo) -> Any:
        _check(value, free_text=info.field_name in cls._free_text_fields, where="")
        return value


def _check(value: Any, *, free_text: bool, where: str) -> None:
    if isinstance(value, str):
        try:
            require_safe_text(value, free_text=free_text)
        except UnsafeText as exc:
            raise PydanticCustomError(
                "unsafe_text", "{where}the text {reason}", {"where": where, "reason": str(exc)}
            ) from None
    elif isinstance(value, RequestModel):
        return  # validated, its own fields checked, when it was made
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _check(getattr(value, name), free_text=free_text, where=f"{where}{name}: ")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _check(key, free_text=False, where=f"{where}a key: ")
            _check(item, free_text=free_text, where=f"{where}{key!r}: ")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _check(item, free_text=free_text, where=f"{where}item {index}: ")
