"""/openapi.json for the object routes: each body is declared (optional where it may be
left out), each comes with examples that the API itself accepts, and an edit's fields
name no default a client could mistake for "send null"."""

from __future__ import annotations

import app.api.schemas_objects as schemas

BODIES = {
    ("patch", "/api/v1/todos/{todo_id}"): ("TodoChanges", True),
    ("patch", "/api/v1/notes/{note_id}"): ("NoteChanges", True),
    ("post", "/api/v1/tracks"): ("NewTrack", True),
    ("post", "/api/v1/tracks/{track_id}/check-ins"): ("CheckIn", False),
    ("post", "/api/v1/decisions/{decision_id}/revoke"): ("Revocation", False),
    ("post", "/api/v1/decisions/{decision_id}/outcome"): ("Outcome", True),
}
OBJECT_PATHS = ("/api/v1/todos", "/api/v1/notes", "/api/v1/tracks", "/api/v1/decisions")


def body_model(operation: dict) -> str | None:
    body = operation.get("requestBody")
    if body is None:
        return None
    return body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]


async def test_every_body_is_declared(document):
    for (method, path), (model, required) in BODIES.items():
        operation = document["paths"][path][method]
        assert body_model(operation) == model, (method, path)
        assert operation["requestBody"]["required"] is required, (method, path)
        assert {"400", "404" if "{" in path else "409", "415", "422"} <= (
            operation["responses"].keys()
        ), (method, path)


async def test_every_object_route_declares_its_answer_and_problems(document):
    for path, item in document["paths"].items():
        if not path.startswith(OBJECT_PATHS):
            continue
        for method, operation in item.items():
            ok = [status for status in operation["responses"] if status.startswith("2")]
            assert len(ok) == 1, (method, path)
            answer = operation["responses"][ok[0]]["content"]["application/json"]["schema"]
            assert answer["$ref"].startswith("#/components/schemas/"), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)
            if path.endswith(
                (
                    "/cancel",
                    "/reopen",
                    "/archive",
                    "/pause",
                    "/resume",
                    "/finish",
                    "/check-ins",
                    "/revoke",
                )
            ):
                assert "409" in operation["responses"], (method, path)


async def test_every_object_body_has_examples_the_api_accepts(document):
    models = {
        body_model(operation)
        for path, item in document["paths"].items()
        if path.startswith((*OBJECT_PATHS, "/api/v1/interactions"))
        for operation in item.values()
    } - {None}
    assert {"NewTodo", "NewDecision", "Interaction"} | {m for m, _ in BODIES.values()} <= models
    for name in models:
        examples = document["components"]["schemas"][name]["examples"]
        assert examples, name
        for example in examples:
            getattr(schemas, name).model_validate(example)


async def test_an_edit_names_no_default_and_needs_a_field(document):
    for name in ("TodoChanges", "NoteChanges"):
        schema = document["components"]["schemas"][name]
        assert schema["minProperties"] == 1 and schema["additionalProperties"] is False
        assert "required" not in schema
        assert all("default" not in field for field in schema["properties"].values()), name
    due = document["components"]["schemas"]["TodoChanges"]["properties"]["due"]
    assert {"type": "string", "format": "date"} in due["anyOf"]
    assert {"type": "string", "format": "date-time"} in due["anyOf"]
