"""Errors as application/problem+json (RFC 9457), translated in one place.

Domain errors map to status codes here and nowhere else; a client never sees a stack
trace, and nothing a client sends can produce a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    Conflict,
    DomainError,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    StorageUnavailable,
)

log = logging.getLogger("helionyx.api")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}

_DOMAIN_STATUS: list[tuple[type[DomainError], int, str]] = [
    (IdempotencyConflict, 409, "idempotency-conflict"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (InvalidInput, 422, "invalid-input"),
    (StorageUnavailable, 503, "storage-unavailable"),
]


class ProblemError(Exception):
    """Raised by adapters for edge failures (auth, headers, body) with a ready status."""

    def __init__(
        self,
        status: int,
        detail: str,
        slug: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers, extra
        self.slug = slug or _TITLES.get(status, "error").lower().replace(" ", "-")


def problem(
    status: int,
    detail: str,
    slug: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    slug = slug or _TITLES.get(status, "error").lower().replace(" ", "-")
    body = {
        "type": f"urn:helionyx:problem:{slug}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _edge(_: Request, exc: ProblemError) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.slug, headers=exc.headers, **exc.extra)

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        for kind, status, slug in _DOMAIN_STATUS:
            if isinstance(exc, kind):
                if status >= 500:
                    log.warning("storage unavailable: %s", exc)
                return problem(status, str(exc), slug)
        return problem(422, str(exc), "domain-error")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "the request is not valid",
            "validation-error",
            errors=validation_errors(exc.errors()),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return problem(500, "an internal error occurred; it has been logged", "internal")


def validation_errors(errors: Iterable[Any]) -> list[dict[str, str]]:
    """Where and what, never the offending input itself (it may be large or secret)."""
    return [
        {"loc": ".".join(str(part) for part in error.get("loc", ())), "msg": error.get("msg", "")}
        for error in errors
    ]
