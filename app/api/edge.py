"""What every /api/v1 request passes through: the bearer token and a strict JSON body."""

from __future__ import annotations

import hmac
import math
import sys
from typing import Any, TypeVar

from fastapi import Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError

from app.api.auth_throttle import AuthThrottle
from app.api.problems import ProblemError, validation_errors
from app.audit import QuietAudit
from domain.messages import unstorable

Model = TypeVar("Model", bound=BaseModel)


def check_bearer(request: Request, expected: bytes) -> None:
    token = _presented_token(request)
    challenge = {"WWW-Authenticate": 'Bearer realm="helionyx"'}
    if token is None:
        raise ProblemError(
            401, "send Authorization: Bearer <HELIONYX_API_TOKEN>", "unauthorized", challenge
        )
    # Constant-time, so response timing does not reveal how much of a guess was right.
    if not hmac.compare_digest(token.strip().encode("utf-8", "replace"), expected):
        raise ProblemError(401, "the API token is not valid", "unauthorized", challenge)


def _presented_token(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def guard_bearer(
    request: Request, expected: bytes, throttle: AuthThrottle, audit: QuietAudit
) -> None:
    """check_bearer behind the address's lockout (app/api/auth_throttle.py): a locked-out
    address gets 429 before its token is compared. Failures are counted and audited,
    quietly (one line per address a minute); what was presented is never logged."""
    address = client_address(request)
    if (wait := throttle.retry_after(address)) is not None:
        audit(
            "auth.throttled",
            "refused",
            address,
            client=address,
            path=request.url.path,
            retry_after_s=wait,
        )
        raise ProblemError(
            429,
            f"too many failed authentication attempts from this address; retry in {wait} s",
            "too-many-requests",
            {"Retry-After": str(wait)},
        )
    try:
        check_bearer(request, expected)
    except ProblemError:
        lockout = throttle.failed(address)
        reason = "no bearer token" if _presented_token(request) is None else "wrong token"
        audit(
            "auth.failed", "refused", address, client=address, path=request.url.path, reason=reason
        )
        if lockout is not None:
            audit(
                "auth.locked_out",
                "refused",
                address,
                client=address,
                failures=throttle.max_failures,
                lockout_s=lockout,
            )
        raise


def client_address(request: Request) -> str:
    """The peer, or the address a trusted proxy forwarded: uvicorn reads X-Forwarded-For
    from the peers in FORWARDED_ALLOW_IPS only (default 127.0.0.1 and ::1)."""
    return request.client.host if request.client is not None else "unknown"


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
        refused = [
            _NOT_STORABLE[reason]
            for error in errors
            for reason in _NOT_STORABLE
            if error["type"] == "json_invalid" and reason in error.get("msg", "")
        ]
        if refused:  # well-formed, but not what can be stored: 422 as check_storable says
            raise RequestBodyInvalid([{"loc": "", "msg": refused[0]}]) from None
        if any(error["type"] == "json_invalid" for error in errors):
            raise ProblemError(
                400, "the request body is not valid UTF-8 JSON", "invalid-json"
            ) from None
        raise RequestBodyInvalid(validation_errors(errors)) from None


# What pydantic's JSON parser (jiter) says of well-formed JSON it does not build, and why.
# Its limits are its own: integers of up to 4300 characters, the minus sign included
# (Python's default limit for int <-> str is 4300 digits), nesting up to 200 levels
# (check_storable allows 16).
_NOT_STORABLE = {
    "number out of range": "integers may have at most 4300 digits (4299 after a minus sign)",
    "recursion limit exceeded": "nested too deeply (more than 16 levels)",
}


class RequestBodyInvalid(ProblemError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        summary = "; ".join(f"{e['loc'] or 'body'}: {e['msg']}" for e in errors[:5])
        super().__init__(
            422, summary or "the request body is not valid", "validation-error", errors=errors
        )


def check_storable(value: Any, *, depth: int = 0) -> Any:
    """Both PostgreSQL and SQLite must store it and read back the same: no NUL, no lone
    surrogates, finite numbers, integers Python can spell (canonical_json) and read back
    (json.loads): up to `sys.get_int_max_str_digits()` digits, bounded nesting. Every
    other number is stored as canonical_json spells it and reads back equal, sign of zero
    included (docs/ARCHITECTURE.md, "The event log's guarantees")."""
    if depth > 16:
        raise ValueError("nested too deeply (more than 16 levels)")
    if isinstance(value, str):
        check_text(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite (no NaN or Infinity)")
    elif isinstance(value, int) and value.bit_length() > _INT_BITS_ALWAYS_SPELLED:
        try:
            int.__repr__(value)
        except ValueError:
            raise ValueError(
                f"integers may have at most {sys.get_int_max_str_digits()} digits"
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_storable(item, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth=depth + 1)
    return value


# An integer of at most this many bits has at most 640 digits, under any limit Python
# allows (sys.set_int_max_str_digits takes 640 or more, or 0 for none): spelled without a try.
_INT_BITS_ALWAYS_SPELLED = 2000


def check_text(value: str) -> str:
    if (why := unstorable(value)) is not None:
        raise ValueError(why)
    return value


async def refuse_unknown_query(request: Request) -> None:
    """Refuse query parameters the route does not declare: 422 problem+json naming each,
    as unknown body fields are (FastAPI itself ignores them, so a misspelt `limt=5` would
    quietly give the default). What a route declares is what FastAPI reads for it, and
    what /docs shows. Checked after the bearer token, by the /api/v1 routers' one
    dependency (app/api/app.py `guard_api`), and as the health router's own (async:
    FastAPI runs a plain one in a thread)."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    known = _declared_query(route) if isinstance(route, APIRoute) else frozenset()
    unknown = [name[:50] for name in sorted(set(request.query_params) - known)[:10]]
    if unknown:
        choices = ", ".join(sorted(known)) or "none"
        raise ProblemError(
            422,
            f"unknown query parameter {', '.join(unknown)}: this route takes {choices}",
            "validation-error",
            errors=[{"loc": f"query.{name}", "msg": "unknown query parameter"} for name in unknown],
        )


# By id: a route is not hashable. Each entry holds its route, so no id is reused while
# it is here; there is one per route of every app built in this process.
_DECLARED: dict[int, tuple[APIRoute, frozenset[str]]] = {}


def _declared_query(route: APIRoute) -> frozenset[str]:
    """The query parameters of the route and its dependencies, by the names a client
    sends (a parameter model's fields, each by its alias); read once per route."""
    if (entry := _DECLARED.get(id(route))) is None:
        names: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            for field in dependant.query_params:
                model = field.field_info.annotation
                if isinstance(model, type) and issubclass(model, BaseModel):
                    names.update(info.alias or name for name, info in model.model_fields.items())
                else:
                    names.add(field.alias)
            pending.extend(dependant.dependencies)
        entry = _DECLARED[id(route)] = (route, frozenset(names))
    return entry[1]


def query_text(name: str, value: str) -> str:
    """A query parameter's text, as storable as a body's (check_text), or 422."""
    try:
        return check_text(value)
    except ValueError as e:
        raise ProblemError(422, f"{name}: {e}", "validation-error") from None
