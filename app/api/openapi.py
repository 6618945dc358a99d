"""What /openapi.json says beyond the route signatures: the bodies routes read themselves
(parse_body), the problem answers, the bearer token and a tag per resource, so a client can
be generated and checked from it and /docs can be tried out.

FastAPI documents a body only when it parses the body itself, and puts a response
`model` under the route's own media type (application/json): the bodies and the
application/problem+json answers are declared here, by reference, and their schemas
added to the document's components.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from app.api.problems import PROBLEM_JSON

_COMPONENTS = "#/components/schemas/{model}"
# Every model json_body was given, by name: their schemas go into the components. Filled
# as the route modules are imported; the models are fixed classes, so it is never stale.
_BODIES: dict[str, type[BaseModel]] = {}


class FieldProblem(BaseModel):
    loc: str = Field(description="where: dotted path into the request, empty for the body")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details; some problems carry more members (`errors`, `checks`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="urn:helionyx:problem:<slug>")
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(None, description="for validation-error")


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route or router: each status answered as application/problem+json."""
    schema = {"$ref": _COMPONENTS.format(model=Problem.__name__)}
    return {
        status: {
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
        for status in statuses
    }


# Every route behind the bearer token: a missing or wrong token, an address locked out
# after too many of those, a database that is down or a log closed to writes.
GUARDED = problems(401, 429, 503)
# Every route that reads a JSON body with parse_body: not JSON, a stalled body, too large,
# not application/json, not valid for the model.
READS_BODY = problems(400, 408, 413, 415, 422)


def json_body(
    model: type[BaseModel], *, required: bool = True, example: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`openapi_extra=` for a route that reads `model` with parse_body (or, not
    `required`, a body that may be left out). `example`, for a model whose schema has no
    `examples` of its own, is what /docs fills in to try the route out."""
    if _BODIES.setdefault(model.__name__, model) is not model:
        raise ValueError(f"two request bodies are named {model.__name__}")
    media: dict[str, Any] = {"schema": {"$ref": _COMPONENTS.format(model=model.__name__)}}
    if example is not None:
        media["example"] = example
    return {"requestBody": {"required": required, "content": {"application/json": media}}}


# One tag per resource, in the order /docs lists them; app.py tags each router as it
# includes it.
TAGS = [
    {"name": "ingest", "description": "Record messages in the event log, one or a batch."},
    {
        "name": "conversation",
        "description": "Talk to Helionyx as in the chat: same commands, same replies.",
    },
    {"name": "todos", "description": "Todos: create, edit, complete, cancel, reopen."},
    {"name": "notes", "description": "Notes: read, search, edit, archive."},
    {"name": "tracks", "description": "Tracks: start, check in, pause, resume, finish."},
    {"name": "decisions", "description": "Decisions: record, supersede, revoke, note the outcome."},
    {"name": "agenda", "description": "What is overdue and due over the owner's next days."},
    {"name": "search", "description": "Ranked hits across objects and messages."},
    {"name": "events", "description": "The append-only event log, page by page."},
    {"name": "export", "description": "The log or the owner's objects, streamed as a file."},
    {"name": "state", "description": "What the service runs and how much it holds."},
    {"name": "health", "description": "Liveness and readiness, without the token."},
]
BEARER = "bearer"
_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def describe(app: FastAPI, *, guarded: str) -> None:
    """Adds the schemas json_body and problems refer to to the app's document, and the
    bearer scheme to every operation under the `guarded` prefix (so /docs offers the
    Authorize button and sends the token)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()  # FastAPI's, cached on the app: completed here once
            components = document.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            models: tuple[type[BaseModel], ...] = (Problem, *_BODIES.values())
            for model in models:
                schema = model.model_json_schema(ref_template=_COMPONENTS)
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            components["securitySchemes"] = {
                BEARER: {"type": "http", "scheme": "bearer", "description": "HELIONYX_API_TOKEN"}
            }
            for path, item in document.get("paths", {}).items():
                if path.startswith(f"{guarded}/"):
                    for method in item.keys() & _METHODS:
                        item[method]["security"] = [{BEARER: []}]
            return document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
