"""FastAPI's answer to a request that fails validation (422), made safe to send.

FastAPI's own handler echoes each error's `input`; a JSON body with a lone surrogate
(`"\\ud800"`, valid JSON) put the character into the answer, which cannot be encoded as
UTF-8, and the 422 became a 500. Here every string of the answer has such a character
written as its escape (`\\ud800`, six characters): the same shape, readable, encodable.
Likewise a `NaN` or `Infinity` in the body (Python's JSON reader takes them, JSON has no
such number) is echoed as the text "NaN", "Infinity" or "-Infinity"."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


async def validation_error_answer(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for it alone
    detail = _encodable(jsonable_encoder(exc.errors()))
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


def _encodable(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {_encodable(key): _encodable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_encodable(item) for item in value]
    return value
