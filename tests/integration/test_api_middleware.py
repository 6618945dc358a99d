"""The middlewares at the HTTP edge: request ids, the body limit (also for bodies sent in
chunks, which declare no length), a body that stops arriving, and every /api/v1 route
still behind the token."""

from __future__ import annotations

import asyncio
import contextlib
import re

import httpx
import pytest

from app.api.middleware import BodyTimeoutMiddleware
from tests.conftest import BEFORE_STORAGE

PROBLEM = "application/problem+json"


async def chunks(*parts: bytes):
    for part in parts:
        yield part


async def count_events(client) -> int:
    return (await client.get("/api/v1/state")).json()["events"]["count"]


async def test_a_sane_request_id_is_kept_and_recorded(client):
    response = await client.post(
        "/api/v1/ingest/message", json={"text": "hi"}, headers={"X-Request-ID": "client-id.42"}
    )
    assert response.status_code == 201
    assert response.headers["x-request-id"] == "client-id.42"
    event = (await client.get(f"/api/v1/events/{response.json()['seq']}")).json()
    assert event["metadata"]["request_id"] == "client-id.42"


@pytest.mark.parametrize("given", ["", "x" * 65, "no spaces", "semi;colon"])
async def test_any_other_request_id_is_replaced(client, given):
    response = await client.post(
        "/api/v1/ingest/message", json={"text": "hi"}, headers={"X-Request-ID": given}
    )
    assert response.status_code == 201
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_each_request_gets_its_own_id(client):
    ids = {(await client.get("/health")).headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5


async def test_a_chunked_body_over_the_limit_is_413(client):
    part = b"x" * (64 * 1024)
    body = chunks(b'{"text": "', part, part, part, part, part, b'"}')
    response = await client.post(
        "/api/v1/ingest/message", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(client) == 0


async def test_a_chunked_body_within_the_limit_is_read_whole(client):
    body = chunks(b'{"text": ', b'"sent in ', b'three chunks"}')
    response = await client.post(
        "/api/v1/ingest/message", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 201, response.text
    event = (await client.get(f"/api/v1/events/{response.json()['seq']}")).json()
    assert event["payload"]["text"] == "sent in three chunks"


@BEFORE_STORAGE
@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/state"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/events/1"),
        ("POST", "/api/v1/ingest/message"),
        ("POST", "/api/v1/ingest/batch"),
        ("POST", "/api/v1/interactions"),
        ("GET", "/api/v1/todos"),
        ("GET", "/api/v1/notes"),
        ("GET", "/api/v1/tracks"),
        ("GET", "/api/v1/decisions"),
        ("GET", "/api/v1/stats"),
    ],
)
async def test_every_api_route_needs_the_token(client, method, path):
    response = await client.request(method, path, headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401, (method, path)


# --- a body that stops arriving (BodyTimeoutMiddleware over a stand-in app) -------------


def recording_app(seen: list[dict], *, then_wait_s: float = 0):
    """Reads the whole body, records what it received, answers 200 (after waiting on one
    more receive() for `then_wait_s`, as a streamed reply listening for a disconnect)."""

    async def app(scope, receive, send):
        while True:
            message = await receive()
            seen.append(message)
            if message["type"] != "http.request" or not message.get("more_body"):
                break
        if then_wait_s:
            with contextlib.suppress(TimeoutError):
                seen.append(await asyncio.wait_for(receive(), then_wait_s))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"stored"})

    return app


async def stalling_body():
    yield b'{"text": "'
    await asyncio.sleep(5)
    yield b'never"}'


async def test_a_body_that_stalls_is_answered_408_and_the_app_sees_a_disconnect():
    seen: list[dict] = []
    app = BodyTimeoutMiddleware(recording_app(seen), seconds=0.1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        response = await http.post("/api/v1/ingest/message", content=stalling_body())

    assert response.status_code == 408
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["connection"] == "close"
    assert response.json() == {
        "type": "urn:helionyx:problem:request-timeout",
        "title": "Request timeout",
        "status": 408,
        "detail": "no part of the request body arrived for 0.1 s",
    }
    assert [m["type"] for m in seen] == ["http.request", "http.disconnect"]


async def test_once_the_body_is_complete_reads_are_not_timed():
    seen: list[dict] = []
    app = BodyTimeoutMiddleware(recording_app(seen, then_wait_s=0.3), seconds=0.1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        response = await http.post("/api/v1/ingest/message", content=chunks(b"{}", b"[]"))

    assert response.status_code == 200 and response.content == b"stored"
    assert [m.get("body") for m in seen] == [b"{}", b"[]", b""]


async def test_only_a_reply_that_leaves_the_body_unread_closes_the_connection():
    async def answers_at_once(scope, receive, send):  # as a 401 before the body is read
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def reply(app, method: str, **body) -> httpx.Response:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as http:
            return await http.request(method, "/", **body)

    unread = await reply(
        BodyTimeoutMiddleware(answers_at_once, seconds=5), "POST", content=b"0123456789"
    )
    bodiless = await reply(BodyTimeoutMiddleware(answers_at_once, seconds=5), "GET")
    read = await reply(
        BodyTimeoutMiddleware(recording_app([]), seconds=5), "POST", content=b"0123456789"
    )

    assert unread.headers["connection"] == "close"
    assert "connection" not in bodiless.headers and "connection" not in read.headers
