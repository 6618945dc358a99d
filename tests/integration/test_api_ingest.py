"""The HTTP edge of ingestion: auth, idempotency, and bad input that stores nothing."""

from __future__ import annotations

import pytest

from tests.conftest import API_TOKEN, BEFORE_STORAGE

PROBLEM = "application/problem+json"


async def count_events(client) -> int:
    state = (await client.get("/api/v1/state")).json()
    return state["events"]["count"]


async def test_health_needs_no_token_and_touches_nothing(client):
    response = await client.get("/health", headers={"Authorization": ""})
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_ready_when_migrated_for_this_tier(client):
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "schema": "ok",
        "tier": "ok",
        "integrity": "ok",
        "writes": "ok",
        "draining": "ok",
    }


@BEFORE_STORAGE
@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer wrong-token",
        "Basic abc",
        f"Bearer {API_TOKEN}x",
        f"bearer {API_TOKEN[:-1]}",
    ],
)
async def test_api_refuses_missing_or_wrong_token(client, header):
    headers = {"Authorization": header} if header is not None else {}
    client.headers.pop("Authorization")
    response = await client.post("/api/v1/ingest/message", json={"text": "hi"}, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    client.headers["Authorization"] = f"Bearer {API_TOKEN}"
    assert await count_events(client) == 0


async def test_ingest_records_a_message_event(client):
    response = await client.post(
        "/api/v1/ingest/message",
        json={
            "text": "Call the plumber",
            "source": "api",
            "author": "owner",
            "occurred_at": "2026-11-20T08:30:00+01:00",
            "metadata": {"device": "phone"},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "recorded" and body["seq"] == 1 and body["derived"] == []
    assert response.headers["x-request-id"]
    event = (await client.get(f"/api/v1/events/{body['seq']}")).json()
    assert event["type"] == "message.ingested"
    assert event["event_id"] == body["event_id"]
    assert event["payload"]["text"] == "Call the plumber"
    assert event["occurred_at"].startswith("2026-11-20T07:30:00")
    assert event["metadata"]["client"] == {"device": "phone"}
    assert event["metadata"]["request_id"] == response.headers["x-request-id"]


async def test_the_same_idempotency_key_returns_the_original_result(client):
    headers = {"Idempotency-Key": "msg-0001"}
    first = await client.post("/api/v1/ingest/message", json={"text": "once"}, headers=headers)
    again = await client.post("/api/v1/ingest/message", json={"text": "once"}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json() == first.json()
    assert await count_events(client) == 1


async def test_the_same_key_with_another_body_is_a_conflict(client):
    headers = {"Idempotency-Key": "msg-0002"}
    await client.post("/api/v1/ingest/message", json={"text": "first"}, headers=headers)
    response = await client.post("/api/v1/ingest/message", json={"text": "second"}, headers=headers)
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in response.json()["detail"]
    assert await count_events(client) == 1


async def test_the_same_source_and_source_id_is_recorded_once(client):
    body = {"text": "from the importer", "source": "chatgpt", "source_id": "abc-1"}
    first = await client.post("/api/v1/ingest/message", json=body)
    again = await client.post("/api/v1/ingest/message", json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["seq"] == first.json()["seq"]
    other = await client.post("/api/v1/ingest/message", json={**body, "source_id": "abc-2"})
    assert other.status_code == 201
    assert await count_events(client) == 2


BAD_BODIES = [
    ("invalid JSON", b'{"text": "unterminated', 400),
    ("not an object", b'["text"]', 422),
    ("wrong type", b'{"text": 7}', 422),
    ("coercible string for a string field is fine but number is not", b'{"text": ["a"]}', 422),
    ("missing text", b"{}", 422),
    ("empty text", b'{"text": ""}', 422),
    ("whitespace text", b'{"text": " \\n\\t "}', 422),
    ("unknown field", b'{"text": "hi", "colour": "red"}', 422),
    ("NaN in metadata", b'{"text": "hi", "metadata": {"x": NaN}}', 422),
    ("Infinity in metadata", b'{"text": "hi", "metadata": {"x": Infinity}}', 422),
    ("huge number", b'{"text": "hi", "metadata": {"x": 1e400}}', 422),
    ("invalid UTF-8", b'{"text": "\xff\xfe"}', 400),
    ("NUL in text", b'{"text": "a\\u0000b"}', 422),
    ("NUL in metadata key", b'{"text": "a", "metadata": {"k\\u0000": 1}}', 422),
    ("lone surrogate", b'{"text": "\\ud800"}', 400),
    ("naive occurred_at", b'{"text": "a", "occurred_at": "2026-11-20T08:30:00"}', 422),
    ("bad occurred_at", b'{"text": "a", "occurred_at": "yesterday"}', 422),
    # pydantic alone reads a string of digits as a Unix timestamp (1970-01-02)
    ("timestamp occurred_at", b'{"text": "a", "occurred_at": "86400"}', 422),
    ("bad source", b'{"text": "a", "source": "Not A Source!"}', 422),
    ("too long text", b'{"text": "' + b"x" * 16_001 + b'"}', 422),
    ("empty body", b"", 400),
    ("null", b"null", 422),
]


@pytest.mark.parametrize(("name", "raw", "status"), BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
async def test_bad_input_is_a_4xx_problem_and_stores_nothing(client, name, raw, status):
    response = await client.post(
        "/api/v1/ingest/message", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == status and problem["detail"] and problem["type"]
    assert "Traceback" not in response.text
    assert await count_events(client) == 0
    assert (await client.get("/health/ready")).status_code == 200


async def test_wrong_content_type_is_415(client):
    response = await client.post(
        "/api/v1/ingest/message",
        content=b"text=hi",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 415
    assert await count_events(client) == 0


async def test_oversized_body_is_413(client):
    raw = b'{"text": "' + b"x" * (300 * 1024) + b'"}'
    response = await client.post(
        "/api/v1/ingest/message", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert await count_events(client) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve", "tab\there", "line\nbreak"])
async def test_bad_idempotency_key_is_400(client, key):
    response = await client.post(
        "/api/v1/ingest/message",
        json={"text": "hi"},
        headers={"Idempotency-Key": key.encode("utf-8")},
    )
    assert response.status_code == 400, response.text
    assert await count_events(client) == 0


async def test_batch_records_every_message_in_one_go(client):
    messages = [{"text": f"message {i}", "source": "batch", "source_id": str(i)} for i in range(50)]
    response = await client.post("/api/v1/ingest/batch", json={"messages": messages})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 50 and body["recorded"] == 50
    assert [r["seq"] for r in body["results"]] == list(range(1, 51))
    again = (await client.post("/api/v1/ingest/batch", json={"messages": messages[:3]})).json()
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
    assert await count_events(client) == 50


async def test_a_batch_with_one_bad_message_stores_nothing(client):
    messages = [{"text": "fine"}, {"text": ""}]
    response = await client.post("/api/v1/ingest/batch", json={"messages": messages})
    assert response.status_code == 422
    assert "messages.1.text" in response.text
    assert await count_events(client) == 0


async def test_batch_size_is_capped(client):
    messages = [{"text": "x"}] * 1001
    response = await client.post("/api/v1/ingest/batch", json={"messages": messages})
    assert response.status_code in (413, 422)
    assert await count_events(client) == 0
