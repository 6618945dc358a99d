"""What every /api/v1 request passes through: the bearer token and a strict JSON body."""

from __future__ import annotations

import hmac
import math
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from app.api.problems import ProblemError, validation_errors

Model = TypeVar("Model", bound=BaseModel)


def check_bearer(request: Request, expected: bytes) -> None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="helionyx"'}
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(401, "send Authorization: Bearer <HELIONYX_API_TOKEN>",
                           "unauthorized", challenge)
    # Constant-time, so response timing does not reveal how much of a guess was right.
    if not hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected):
        raise ProblemError(401, "the API token is not valid", "unauthorized", challenge)


async def parse_body(request: Request, model: type[Model]) -> Model:
    """JSON only, UTF-8 only, no NaN/Infinity, no unknown fields, no type coercion."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ProblemError(415, "send the body as application/json", "unsupported-media-type")
    raw = await request.body()
    if not raw.strip():
        raise ProblemError(400, "the request body is empty", "invalid-json")
    try:
        return model.model_validate_json(raw)
    except ValidationError as e:
        errors = e.errors(include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            raise ProblemError(400, "the request body is not valid UTF-8 JSON",
                               "invalid-json") from None
        raise RequestBodyInvalid(validation_errors(errors)) from None


class RequestBodyInvalid(ProblemError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{e['loc'] or 'body'}: {e['msg']}" for e in errors[:5])
        super().__init__(422, summary or "the request body is not valid", "validation-error",
                         errors=errors)


def check_storable(value: Any, *, depth: int = 0) -> Any:
    """Both PostgreSQL and SQLite must store it and read back the same: no NUL, no lone
    surrogates, finite numbers, bounded nesting."""
    if depth > 16:
        raise ValueError("nested too deeply (more than 16 levels)")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_storable(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth=depth + 1)
    return value


def check_text(value: str) -> str:
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value
