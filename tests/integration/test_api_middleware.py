"""The middlewares at the HTTP edge: request ids, the body limit (also for bodies sent in
chunks, which declare no length), and every /api/v1 route still behind the token."""

from __future__ import annotations

import re

import pytest

PROBLEM = "application/problem+json"


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def count_events(client) -> int:
    return (await client.get("/api/v1/state")).json()["events"]["count"]


async def test_a_sane_request_id_is_kept_and_recorded(client):
    response = await client.post("/api/v1/ingest/message", json={"text": "hi"},
                                 headers={"X-Request-ID": "client-id.42"})
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "client-id.42"
    event = (await client.get(f"/api/v1/events/{response.json()['seq']}")).json()
    assert event["metadata"]["request_id"] == "client-id.42"


@pytest.mark.parametrize("given", ["", "x" * 65, "no spaces", "semi;colon"])
async def test_any_other_request_id_is_replaced(client, given):
    response = await client.post("/api/v1/ingest/message", json={"text": "hi"},
                                 headers={"X-Request-ID": given})
    assert response.status_code == 201
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_each_request_gets_its_own_id(client):
    ids = {(await client.get("/health")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_a_chunked_body_over_the_limit_is_413(client):
    part = b"x" * (64 * 1024)
    body = chunks(b'{"text": "', part, part, part, part, part, b'"}')
    response = await client.post("/api/v1/ingest/message", content=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(client) == 0


async def test_a_chunked_body_within_the_limit_is_read_whole(client):
    body = chunks(b'{"text": ', b'"sent in ', b'three chunks"}')
    response = await client.post("/api/v1/ingest/message", content=body,
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    event = (await client.get(f"/api/v1/events/{response.json()['seq']}")).json()
    assert event["payload"]["text"] == "sent in three chunks"


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/state"), ("GET", "/api/v1/events"), ("GET", "/api/v1/events/1"),
    ("POST", "/api/v1/ingest/message"), ("POST", "/api/v1/ingest/batch"),
    ("POST", "/api/v1/interactions"), ("GET", "/api/v1/todos"), ("GET", "/api/v1/notes"),
    ("GET", "/api/v1/tracks"), ("GET", "/api/v1/decisions"), ("GET", "/api/v1/stats"),
])
async def test_every_api_route_needs_the_token(client, method, path):
    response = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401, (method, path)
