"""The base of every request body: what pydantic checks for all of them at once."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, field_validator


class RequestModel(BaseModel):
    """Text holding NUL is bad input (422): PostgreSQL cannot store the character, and no
    name, note or id has a use for it. Checked here once rather than by each route."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("must not contain the NUL character (\\u0000)")
        return value
