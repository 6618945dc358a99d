"""/openapi.json describes what the API answers: the bodies routes read themselves, and
every problem as application/problem+json (tests/e2e/test_api_schema.py fuzzes the
running service against it)."""

from __future__ import annotations

from app.api.openapi import Problem

PROBLEM = "application/problem+json"
READ_BODIES = {
    "/api/v1/ingest/message": "IngestMessage",
    "/api/v1/ingest/batch": "IngestBatch",
    "/api/v1/interactions": "Interaction",
    "/api/v1/todos": "NewTodo",
    "/api/v1/decisions": "NewDecision",
    "/api/v1/decisions/{decision_id}/supersede": "NewDecision",
}


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


async def test_every_problem_is_declared_as_problem_json(document):
    problem = {"$ref": "#/components/schemas/Problem"}
    for path, method, operation in operations(document):
        responses = operation["responses"]
        if path.startswith("/api/v1/"):
            assert {"401", "429", "503"} <= responses.keys(), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"] == {PROBLEM: {"schema": problem}}, (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_routes_that_read_a_body_declare_it(document):
    for path, model in READ_BODIES.items():
        operation = document["paths"][path]["post"]
        body = operation["requestBody"]
        assert body["required"] is True and body["content"].keys() == {"application/json"}
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
        assert {"400", "413", "415", "422"} <= operation["responses"].keys(), path
    message = document["components"]["schemas"]["IngestMessage"]
    assert message["required"] == ["text"] and message["additionalProperties"] is False


async def test_every_reference_resolves(document):
    schemas = document["components"]["schemas"]
    for ref in set(refs(document)):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref


async def test_a_problem_answer_matches_the_declared_model(client):
    response = await client.get("/api/v1/events", params={"limit": 0})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    problem = Problem.model_validate(response.json())
    assert problem.errors and problem.errors[0].loc == "query.limit"
