"""Every /api/v1 operation in the live /openapi.json is complete enough to generate a client
from and to try out in /docs: its body with an example, its answer, its problems, the
bearer token and a tag. And /docs itself works with no way out of the host."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx

import app.api.schemas as ingest_schemas
import app.api.schemas_objects as object_schemas

PROBLEM = "application/problem+json"
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}
# The moves that take no body at all: the path names the object, the verb the move.
NO_BODY = re.compile(r"/(complete|cancel|reopen|archive|pause|resume|finish)$")
# Streamed, not JSON: its answer is a file in one of these types.
STREAMED = {"/api/v1/export": {"application/x-ndjson", "text/markdown"}}


def api_operations(document: dict) -> Iterator[tuple[str, str, dict]]:
    for path, item in document["paths"].items():
        if path.startswith("/api/v1/"):
            for method, operation in item.items():
                yield method, path, operation


def resolve(document: dict, node: dict) -> dict:
    ref = node.get("$ref")
    return document["components"]["schemas"][ref.rsplit("/", 1)[-1]] if ref else node


def body_examples(document: dict, body: dict) -> list[Any]:
    media = body["content"]["application/json"]
    found = [media["example"]] if "example" in media else []
    found += [example["value"] for example in media.get("examples", {}).values()]
    return found + resolve(document, media["schema"]).get("examples", [])


def model_of(name: str) -> Any:
    return getattr(object_schemas, name, None) or getattr(ingest_schemas, name)


async def test_the_document_covers_the_api(document):
    paths = {path for _, path, _ in api_operations(document)}
    for expected in (
        "/api/v1/ingest/message",
        "/api/v1/todos",
        "/api/v1/notes",
        "/api/v1/tracks",
        "/api/v1/decisions",
        "/api/v1/interactions",
        "/api/v1/events",
        "/api/v1/search",
        "/api/v1/agenda",
        "/api/v1/export",
        "/api/v1/state",
        "/api/v1/stats",
    ):
        assert expected in paths


async def test_every_body_is_declared_with_an_example_the_api_accepts(document):
    for method, path, operation in api_operations(document):
        if method not in ("post", "patch", "put"):
            assert "requestBody" not in operation, (method, path)
            continue
        body = operation.get("requestBody")
        if body is None:
            assert NO_BODY.search(path), f"{method} {path} declares no body"
            continue
        schema = body["content"]["application/json"]["schema"]
        assert schema.get("$ref"), (method, path)
        examples = body_examples(document, body)
        assert examples, f"{method} {path}: no example"
        model = model_of(schema["$ref"].rsplit("/", 1)[-1])
        for example in examples:
            model.model_validate_json(json.dumps(example))  # as strictly as parse_body
        if not body["required"]:  # left out is allowed: said so in words too
            assert "may be left out" in operation.get("description", ""), (method, path)


async def test_every_operation_declares_its_answer(document):
    for method, path, operation in api_operations(document):
        ok = {
            status: answer
            for status, answer in operation["responses"].items()
            if status.startswith("2")
        }
        assert ok, (method, path)
        for answer in ok.values():
            content = answer["content"]
            if path in STREAMED:
                assert STREAMED[path] <= {media.split(";")[0] for media in content}
                continue
            schema = content["application/json"]["schema"]
            named = resolve(document, schema)
            assert named.get("properties"), f"{method} {path}: its answer is not a model"


async def test_every_problem_that_can_happen_is_declared(document):
    for method, path, operation in api_operations(document):
        expected = {"401", "429"}
        if operation.get("parameters") or "{" in path:
            expected.add("422")
        if "{" in path:
            expected.add("404")
        if "requestBody" in operation:
            expected |= {"413", "422"}
        responses = operation["responses"]
        assert expected <= responses.keys(), f"{method} {path} lacks {expected - responses.keys()}"
        for status in responses.keys() & expected:
            assert responses[status]["content"] == {PROBLEM: {"schema": PROBLEM_SCHEMA}}, (
                method,
                path,
                status,
            )


async def test_every_operation_needs_the_bearer_token_and_says_so(document, container):
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "HELIONYX_API_TOKEN"}
    }
    assert "security" not in document  # not global: /health and /docs need none
    for number, (method, path, operation) in enumerate(api_operations(document)):
        assert operation["security"] == [{"bearer": []}], (method, path)
        # Each from an address of its own, so that the lockout after ten failures
        # (app/api/auth_throttle.py) does not answer 429 for the token check.
        transport = httpx.ASGITransport(
            app=container.http_app(), client=(f"192.0.2.{number + 1}", 50000)
        )
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.request(method, re.sub(r"\{[^}]+\}", "1", path))
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == PROBLEM
    for path in ("/health", "/health/ready"):
        assert "security" not in document["paths"][path]["get"]


async def test_every_operation_has_a_described_tag(document):
    described = {tag["name"]: tag.get("description") for tag in document["tags"]}
    assert all(described.values()), described
    used = set()
    for method, path, operation in api_operations(document):
        assert len(operation.get("tags", [])) == 1, (method, path)
        used.update(operation["tags"])
    used.update(document["paths"]["/health"]["get"]["tags"])
    assert used == described.keys()
    assert document["paths"]["/api/v1/todos"]["get"]["tags"] == ["todos"]
    assert document["paths"]["/api/v1/interactions"]["post"]["tags"] == ["conversation"]


LOCAL_ASSET = re.compile(r'(?:src|href)="([^"]+)"')
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


async def test_docs_load_only_from_the_app_itself_without_the_token(client):
    anonymous = {"Authorization": ""}
    response = await client.get("/docs", headers=anonymous)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert "'/openapi.json'" in page and '"persistAuthorization": true' in page
    assets = LOCAL_ASSET.findall(page)
    assert {asset.rsplit(".", 1)[-1] for asset in assets} == {"js", "css", "png"}
    for asset in assets:
        assert asset.startswith("/docs/static/"), asset
        served = await client.get(asset, headers=anonymous)
        assert served.status_code == 200, asset
        kind = ASSET_TYPES[asset[asset.rindex(".") :]]
        assert kind in served.headers["content-type"], (asset, served.headers["content-type"])
        assert len(served.content) > 100, asset
    assert (await client.get("/openapi.json", headers=anonymous)).status_code == 200


async def test_docs_assets_pass_the_middlewares(client):
    response = await client.head("/docs/static/swagger-ui.css")
    assert response.status_code == 200 and response.headers["x-request-id"]
    missing = await client.get("/docs/static/nothing.js")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert (await client.get("/redoc")).status_code == 404  # no page that needs a CDN
    exposition = (await client.get("/metrics")).text
    assert 'route="/docs/static/{path}",status="200"' in exposition
    assert 'route="/docs/static/{path}",status="404"' in exposition
