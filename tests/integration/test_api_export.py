"""`GET /api/v1/export`: both formats streamed as attachments, behind the bearer token."""

from __future__ import annotations

import asyncio
import io

from infrastructure.log_file.reading import LogFileReader
from tests.conftest import API_TOKEN

PROBLEM = "application/problem+json"


async def ingest(client, n: int) -> None:
    for start in range(0, n, 1000):
        messages = [
            {"text": f"todo: item {i} #tag"} if i % 50 == 0 else {"text": f"m{i}"}
            for i in range(start, min(n, start + 1000))
        ]
        response = await client.post("/api/v1/ingest/batch", json={"messages": messages})
        assert response.is_success


async def asgi_get(app, query: str) -> tuple[dict, list[bytes]]:
    """The response's start and each body message the app sent: httpx's ASGI transport
    would join them."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/export",
        "raw_path": b"/api/v1/export",
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"authorization", f"Bearer {API_TOKEN}".encode())],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    sent: list[dict] = []
    requested, finished = False, asyncio.Event()

    async def receive() -> dict:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await finished.wait()  # the client stays until the whole body is sent
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)
        if message["type"] == "http.response.body" and not message.get("more_body"):
            finished.set()

    async with asyncio.timeout(60):  # a stream that never ends fails the test, not CI
        await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start, [m["body"] for m in sent if m["type"] == "http.response.body" and m["body"]]


async def test_json_lines_are_streamed_and_check(client, container):
    await ingest(client, 2500)  # more than a page: several chunks
    start, chunks = await asgi_get(container.http_app(), "format=jsonl")
    headers = {k.decode(): v.decode() for k, v in start["headers"]}
    assert start["status"] == 200
    assert headers["content-type"] == "application/x-ndjson"
    assert headers["content-disposition"].startswith('attachment; filename="helionyx-dev-')
    assert headers["content-disposition"].endswith('.jsonl"')
    assert len(chunks) > 2  # the header, then a chunk per page of events
    reader = LogFileReader(io.BytesIO(b"".join(chunks)))
    events = list(reader.events())
    assert reader.header.events == len(events) == events[-1].event.seq >= 2500


async def test_json_lines_is_the_default(client):
    await ingest(client, 3)
    response = await client.get("/api/v1/export")
    assert response.headers["content-type"] == "application/x-ndjson"
    assert len(response.content.splitlines()) == 1 + 3 + 1  # header, messages, a todo


async def test_markdown(client):
    await ingest(client, 60)
    await client.post("/api/v1/interactions", json={"text": "/note wifi: Ärger 🎉"})
    response = await client.get("/api/v1/export", params={"format": "markdown"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["content-disposition"].endswith('.md"')
    text = response.text
    assert text.startswith("# Helionyx export\n")
    assert "## Todos" in text and "- [ ] #1 item 0 · #tag" in text and "- [ ] #2 item 50" in text
    assert "## Notes" in text and "Ärger 🎉" in text
    assert "## Tracks" in text and "None yet." in text


async def test_an_empty_database(client):
    response = await client.get("/api/v1/export", params={"format": "markdown"})
    assert response.status_code == 200
    assert "Nothing recorded yet" in response.text
    response = await client.get("/api/v1/export", params={"format": "jsonl"})
    reader = LogFileReader(io.BytesIO(response.content))
    assert list(reader.events()) == [] and reader.header.head.last_seq == 0


async def test_the_token_is_required(client):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer wrong-token-123"}):
        response = await client.get("/api/v1/export", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == PROBLEM
    ok = await client.get("/api/v1/export", headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert ok.status_code == 200


async def test_a_bad_format_or_an_unknown_parameter_is_422(client):
    for params in (
        {"format": "xml"},
        {"format": ""},
        {"fmt": "jsonl"},
        {"format": "jsonl", "limit": "10"},
    ):
        response = await client.get("/api/v1/export", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == PROBLEM


async def test_the_document_declares_it(client):
    document = (await client.get("/openapi.json")).json()
    route = document["paths"]["/api/v1/export"]["get"]
    assert set(route["responses"]["200"]["content"]) == {"application/x-ndjson", "text/markdown"}
    assert {"401", "422", "503"} <= set(route["responses"])
