"""The object endpoints (todos, notes, tracks, decisions, stats) and ingestion that derives
objects, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import API_TOKEN, BEFORE_STORAGE

PROBLEM = "application/problem+json"
UNKNOWN_UUID = "0b7e9f1e-4a8e-4c53-9d9a-2f0d7a1c3b55"


async def event_count(client) -> int:
    return (await client.get("/api/v1/stats")).json()["events"]["total"]


async def new_todo(client, **body):
    response = await client.post("/api/v1/todos", json={"title": "buy milk", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def new_decision(client, **body):
    response = await client.post("/api/v1/decisions", json={"title": "Use SQLite", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def test_create_and_list_todos(client):
    created = await new_todo(
        client, description="semi-skimmed", priority="high", due="2026-12-01", tags=["home", "shop"]
    )
    assert created["number"] == 1 and created["status"] == "open"
    assert created["due"] == "2026-12-01" and created["tags"] == ["home", "shop"]
    assert created["priority"] == "high" and created["description"] == "semi-skimmed"
    await new_todo(client, title="file taxes")

    listed = (await client.get("/api/v1/todos")).json()["items"]
    assert [t["title"] for t in listed] == ["buy milk", "file taxes"]
    assert listed[0] == created

    [event] = (
        await client.get("/api/v1/events", params={"type": "todo.created", "limit": 1})
    ).json()["items"]
    assert event["metadata"]["channel"] == "http" and event["metadata"]["request_id"]
    assert event["aggregate_id"] == created["id"]


async def test_complete_a_todo_by_number_or_id(client):
    first = await new_todo(client)
    second = await new_todo(client, title="call mum")

    done = await client.post("/api/v1/todos/1/complete")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and done.json()["completed_at"]
    by_id = await client.post(f"/api/v1/todos/{second['id'].upper()}/complete")
    assert by_id.status_code == 200 and by_id.json()["number"] == 2

    assert (await client.get("/api/v1/todos")).json()["items"] == []
    done_items = (await client.get("/api/v1/todos", params={"status": "done"})).json()["items"]
    assert [t["id"] for t in done_items] == [first["id"], second["id"]]
    every = (await client.get("/api/v1/todos", params={"status": "all"})).json()["items"]
    assert len(every) == 2
    cancelled = (await client.get("/api/v1/todos", params={"status": "cancelled"})).json()
    assert cancelled["items"] == []


async def test_completing_twice_is_a_conflict(client):
    await new_todo(client)
    await client.post("/api/v1/todos/1/complete")
    before = await event_count(client)
    again = await client.post("/api/v1/todos/1/complete")
    assert again.status_code == 409
    assert again.headers["content-type"] == PROBLEM
    assert "already done" in again.json()["detail"]
    assert await event_count(client) == before


@pytest.mark.parametrize("ref", ["7", UNKNOWN_UUID, "milk", "99999999999999999999", "1.5"])
async def test_completing_an_unknown_todo_is_404(client, ref):
    await new_todo(client)
    response = await client.post(f"/api/v1/todos/{ref}/complete")
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 1


BAD_TODOS = [
    ("blank title", {"title": "   "}),
    ("empty title", {"title": ""}),
    ("no title", {}),
    ("title too long", {"title": "x" * 201}),
    ("unknown field", {"title": "x", "colour": "red"}),
    ("bad due date", {"title": "x", "due": "tomorrow"}),
    ("impossible due date", {"title": "x", "due": "2026-02-30"}),
    ("due with a time but no offset", {"title": "x", "due": "2026-12-01T10:00:00"}),
    ("due as a timestamp", {"title": "x", "due": "86400"}),
    ("due time beyond what UTC holds", {"title": "x", "due": "0001-01-01T00:00:00+14:00"}),
    ("bad priority", {"title": "x", "priority": "asap"}),
    ("tags not a list", {"title": "x", "tags": "home"}),
    ("blank tag", {"title": "x", "tags": [" "]}),
    ("NUL in title", {"title": "a\u0000b"}),
    ("number as title", {"title": 7}),
]


@pytest.mark.parametrize(("name", "body"), BAD_TODOS, ids=[b[0] for b in BAD_TODOS])
async def test_bad_todo_bodies_are_422_and_store_nothing(client, name, body):
    response = await client.post("/api/v1/todos", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert "Traceback" not in response.text
    assert await event_count(client) == 0


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/todos", {"status": "later"}),
        ("/api/v1/todos", {"limit": 0}),
        ("/api/v1/todos", {"limit": 1001}),
        ("/api/v1/decisions", {"status": "maybe"}),
        ("/api/v1/tracks", {"status": "running"}),
        ("/api/v1/notes", {"search": "x" * 201}),
        ("/api/v1/notes", {"search": "a\u0000b"}),
        ("/api/v1/notes", {"status": "deleted"}),
    ],
)
async def test_bad_query_values_are_422(client, path, params):
    response = await client.get(path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM


async def test_notes_and_tracks_come_from_ingested_messages(client):
    for text in [
        "note: wifi password is on the router #home",
        "note: dentist on Monday",
        "track: running every 3 days",
    ]:
        assert (await client.post("/api/v1/ingest/message", json={"text": text})).status_code == 201

    notes = (await client.get("/api/v1/notes")).json()["items"]
    assert [n["title"] for n in notes] == ["dentist on Monday", "wifi password is on the router"]
    assert notes[1]["tags"] == ["home"] and notes[1]["content"].startswith("wifi")
    found = (await client.get("/api/v1/notes", params={"search": "WIFI"})).json()["items"]
    assert [n["number"] for n in found] == [1]
    assert (await client.get("/api/v1/notes", params={"search": "100%_"})).json()["items"] == []

    [track] = (await client.get("/api/v1/tracks")).json()["items"]
    assert (track["title"], track["check_in_every"], track["status"]) == ("running", 3, "active")
    paused = (await client.get("/api/v1/tracks", params={"status": "paused"})).json()
    assert paused["items"] == []


async def test_decisions_record_list_and_supersede(client):
    old = await new_decision(client, rationale="simple", options=["SQLite", "PostgreSQL"])
    assert old["status"] == "active" and old["options"] == ["SQLite", "PostgreSQL"]

    response = await client.post(
        f"/api/v1/decisions/{old['number']}/supersede",
        json={"title": "Use PostgreSQL", "rationale": "two writers"},
    )
    assert response.status_code == 201, response.text
    new = response.json()
    assert (new["number"], new["supersedes"], new["status"]) == (2, old["id"], "active")

    active = (await client.get("/api/v1/decisions")).json()["items"]
    assert [d["title"] for d in active] == ["Use PostgreSQL"]
    [superseded] = (await client.get("/api/v1/decisions", params={"status": "superseded"})).json()[
        "items"
    ]
    assert (superseded["id"], superseded["superseded_by"]) == (old["id"], new["id"])
    every = (await client.get("/api/v1/decisions", params={"status": "all"})).json()["items"]
    assert [d["number"] for d in every] == [2, 1]

    before = await event_count(client)
    again = await client.post(f"/api/v1/decisions/{old['id']}/supersede", json={"title": "x"})
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert "superseded" in again.json()["detail"]
    assert await event_count(client) == before


@pytest.mark.parametrize("ref", ["9", UNKNOWN_UUID, "nope"])
async def test_superseding_an_unknown_decision_is_404(client, ref):
    response = await client.post(f"/api/v1/decisions/{ref}/supersede", json={"title": "x"})
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"title": " "},
        {"title": "x", "because": "y"},
        {"title": "x", "options": "a"},
        {"title": "x", "rationale": 5},
    ],
)
async def test_bad_decision_bodies_are_422(client, body):
    await new_decision(client)
    for path in ("/api/v1/decisions", "/api/v1/decisions/1/supersede"):
        response = await client.post(path, json=body)
        assert response.status_code == 422, response.text
    assert await event_count(client) == 1


async def test_stats_count_objects_per_status_and_events_per_type(client):
    await new_todo(client)
    await new_todo(client, title="b")
    await client.post("/api/v1/todos/1/complete")
    await new_decision(client)
    await client.post("/api/v1/ingest/message", json={"text": "note: n"})

    stats = (await client.get("/api/v1/stats")).json()
    assert stats == {
        "todos": {"open": 1, "done": 1, "cancelled": 0, "total": 2},
        "notes": {"total": 1},
        "tracks": {"active": 0, "paused": 0, "done": 0, "total": 0},
        "decisions": {"active": 1, "superseded": 0, "revoked": 0, "total": 1},
        "events": {
            "total": 6,
            "by_type": {
                "decision.recorded": 1,
                "message.ingested": 1,
                "note.recorded": 1,
                "todo.completed": 1,
                "todo.created": 2,
            },
        },
    }


async def test_ingest_derives_a_todo_with_due_priority_and_tags(client):
    before = datetime.now(UTC).date()
    response = await client.post(
        "/api/v1/ingest/message", json={"text": "todo: buy milk tomorrow !high #home"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    [derived] = body["derived"]
    assert derived["type"] == "todo.created" and derived["aggregate_type"] == "todo"
    assert derived["seq"] == body["seq"] + 1

    [todo] = (await client.get("/api/v1/todos")).json()["items"]
    tomorrow = {(day + timedelta(days=1)).isoformat() for day in (before, datetime.now(UTC).date())}
    assert todo["id"] == derived["aggregate_id"]
    assert (todo["title"], todo["priority"], todo["tags"]) == ("buy milk", "high", ["home"])
    assert todo["due"] in tomorrow and todo["source_event_seq"] == body["seq"]

    event = (await client.get(f"/api/v1/events/{derived['seq']}")).json()
    assert event["metadata"] == {"caused_by_seq": body["seq"], "extractor": "rules"}


async def test_an_idempotent_replay_returns_the_same_derived_events(client):
    headers = {"Idempotency-Key": "derive-1"}
    text = {"text": "todo: buy milk tomorrow !high #home"}
    first = await client.post("/api/v1/ingest/message", json=text, headers=headers)
    await client.post("/api/v1/ingest/message", json={"text": "note: in between"})
    again = await client.post("/api/v1/ingest/message", json=text, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json() and len(first.json()["derived"]) == 1
    assert len((await client.get("/api/v1/todos")).json()["items"]) == 1
    assert await event_count(client) == 4


async def test_a_batch_derives_per_message(client):
    messages = [
        {"text": "todo: one", "source": "import", "source_id": "1"},
        {"text": "plain", "source": "import", "source_id": "2"},
        {"text": "decide: go because yes", "source": "import", "source_id": "3"},
    ]
    body = (await client.post("/api/v1/ingest/batch", json={"messages": messages})).json()
    assert [len(r["derived"]) for r in body["results"]] == [1, 0, 1]
    again = (await client.post("/api/v1/ingest/batch", json={"messages": messages})).json()
    assert [r["derived"] for r in again["results"]] == [r["derived"] for r in body["results"]]
    assert await event_count(client) == 5


@BEFORE_STORAGE
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/todos"),
        ("POST", "/api/v1/todos"),
        ("POST", "/api/v1/todos/1/complete"),
        ("GET", "/api/v1/todos/1"),
        ("PATCH", "/api/v1/todos/1"),
        ("POST", "/api/v1/todos/1/cancel"),
        ("POST", "/api/v1/todos/1/reopen"),
        ("GET", "/api/v1/notes"),
        ("GET", "/api/v1/notes/1"),
        ("PATCH", "/api/v1/notes/1"),
        ("POST", "/api/v1/notes/1/archive"),
        ("GET", "/api/v1/tracks"),
        ("POST", "/api/v1/tracks"),
        ("GET", "/api/v1/tracks/1"),
        ("POST", "/api/v1/tracks/1/check-ins"),
        ("POST", "/api/v1/tracks/1/pause"),
        ("POST", "/api/v1/tracks/1/resume"),
        ("POST", "/api/v1/tracks/1/finish"),
        ("GET", "/api/v1/decisions"),
        ("POST", "/api/v1/decisions"),
        ("GET", "/api/v1/decisions/1"),
        ("POST", "/api/v1/decisions/1/supersede"),
        ("POST", "/api/v1/decisions/1/revoke"),
        ("POST", "/api/v1/decisions/1/outcome"),
        ("GET", "/api/v1/stats"),
        ("POST", "/api/v1/interactions"),
    ],
)
async def test_every_endpoint_needs_the_token(client, method, path):
    client.headers.pop("Authorization")
    response = await client.request(
        method, path, json={"title": "x", "text": "x"}, headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401 and response.headers["content-type"] == PROBLEM
    client.headers["Authorization"] = f"Bearer {API_TOKEN}"
    assert await event_count(client) == 0
