"""A todo's whole lifecycle over HTTP (edit, cancel, reopen, read with its history), on
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.integration.test_api_objects import PROBLEM, UNKNOWN_UUID, event_count, new_todo


async def patch(client, body, ref="1"):
    return await client.patch(f"/api/v1/todos/{ref}", json=body)


async def last_event(client, type: str) -> dict:
    events = (await client.get("/api/v1/events", params={"type": type})).json()["items"]
    return events[-1]


async def test_an_edit_changes_only_the_fields_sent(client):
    created = await new_todo(client, description="semi-skimmed", priority="high", tags=["home"])

    response = await patch(client, {"title": "buy oat milk", "due": "2026-12-31T09:00:00+01:00"})
    assert response.status_code == 200, response.text
    edited = response.json()
    assert edited["title"] == "buy oat milk"
    assert (edited["description"], edited["priority"], edited["tags"]) == (
        "semi-skimmed",
        "high",
        ["home"],
    )
    assert edited["due"] == "2026-12-31"
    assert datetime.fromisoformat(edited["due_at"]) == datetime(2026, 12, 31, 8, tzinfo=UTC)
    assert edited["updated_at"] >= created["updated_at"]

    event = await last_event(client, "todo.edited")
    assert event["aggregate_id"] == created["id"] and event["metadata"]["channel"] == "http"
    assert event["payload"]["changes"] == {
        "title": "buy oat milk",
        "due": "2026-12-31T09:00:00+01:00",
    }
    assert event["payload"]["before"] == {"title": "buy milk", "due": None}

    cleared = (await patch(client, {"description": None, "due": None})).json()
    assert (cleared["description"], cleared["due"], cleared["due_at"]) == (None, None, None)
    assert cleared["title"] == "buy oat milk"

    dated = (await patch(client, {"due": "2027-01-15", "tags": ["shop", "home"]})).json()
    assert (dated["due"], dated["due_at"], dated["tags"]) == ("2027-01-15", None, ["shop", "home"])
    assert (await client.get("/api/v1/todos")).json()["items"] == [dated]


async def test_an_edit_to_the_same_values_records_nothing(client):
    await new_todo(client, priority="high", due="2026-12-31T09:00:00+01:00", tags=["home"])
    before = await event_count(client)

    same = {
        "title": "buy milk",
        "description": None,
        "priority": "high",
        "due": "2026-12-31T09:00:00+01:00",
        "tags": ["home"],
    }
    response = await patch(client, same)
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "buy milk"
    assert await event_count(client) == before


async def test_a_due_time_keeps_the_day_it_was_given_on(client):
    todo = await new_todo(client, due="2026-12-31T23:30:00-05:00")
    assert todo["due"] == "2026-12-31"
    assert datetime.fromisoformat(todo["due_at"]) == datetime(2027, 1, 1, 4, 30, tzinfo=UTC)


async def test_cancel_and_reopen(client):
    await new_todo(client)

    cancelled = await client.post("/api/v1/todos/1/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["completed_at"] is None
    assert (await client.get("/api/v1/todos", params={"status": "cancelled"})).json()["items"]

    reopened = await client.post("/api/v1/todos/1/reopen")
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"

    await client.post("/api/v1/todos/1/complete")
    again = (await client.post("/api/v1/todos/1/reopen")).json()
    assert again["status"] == "open" and again["completed_at"] is None


@pytest.mark.parametrize(
    ("steps", "forbidden", "detail"),
    [
        (["cancel"], "complete", "todo 1 is cancelled"),
        (["cancel"], "cancel", "todo 1 is already cancelled"),
        (["complete"], "cancel", "todo 1 is done"),
        ([], "reopen", "todo 1 is already open"),
    ],
)
async def test_a_move_the_lifecycle_forbids_is_409_and_stores_nothing(
    client, steps, forbidden, detail
):
    await new_todo(client)
    for step in steps:
        assert (await client.post(f"/api/v1/todos/1/{step}")).status_code == 200
    before = await event_count(client)

    response = await client.post(f"/api/v1/todos/1/{forbidden}")
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == detail
    assert await event_count(client) == before


async def test_a_todo_is_read_with_its_history_in_order(client):
    created = await new_todo(client)
    await patch(client, {"priority": "urgent"})
    await client.post("/api/v1/todos/1/complete")
    await client.post("/api/v1/todos/1/reopen")
    await new_todo(client, title="another")  # not in the first one's history

    response = await client.get("/api/v1/todos/1")
    assert response.status_code == 200, response.text
    todo = response.json()
    history = todo.pop("history")
    assert todo == (await client.get("/api/v1/todos")).json()["items"][0]
    assert [e["type"] for e in history] == [
        "todo.created",
        "todo.edited",
        "todo.completed",
        "todo.reopened",
    ]
    seqs = [e["seq"] for e in history]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    assert set(history[0]) == {"seq", "type", "occurred_at", "recorded_at", "payload"}
    assert history[0]["payload"]["title"] == "buy milk"
    assert history[1]["payload"]["changes"] == {"priority": "urgent"}
    assert history[2]["payload"]["from"] == "open"

    by_id = (await client.get(f"/api/v1/todos/{created['id']}")).json()
    assert by_id["history"] == history


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/todos/99", None),
        ("PATCH", "/api/v1/todos/99", {"title": "x"}),
        ("POST", "/api/v1/todos/99/cancel", None),
        ("POST", "/api/v1/todos/99/reopen", None),
    ],
)
async def test_an_unknown_todo_is_404(client, method, path, body):
    await new_todo(client)
    response = await client.request(method, path, json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "there is no todo 99"
    assert await event_count(client) == 1


@pytest.mark.parametrize("ref", [UNKNOWN_UUID, "milk", "99999999999999999999"])
async def test_a_todo_named_by_nothing_is_404(client, ref):
    for method, path in [("GET", ""), ("POST", "/cancel"), ("POST", "/reopen")]:
        response = await client.request(method, f"/api/v1/todos/{ref}{path}")
        assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
    assert (await patch(client, {"title": "x"}, ref)).status_code == 404


BAD_EDITS = [
    ("empty", {}),
    ("naive time", {"due": "2026-12-31T09:00:00"}),
    ("timestamp", {"due": "86400"}),
    ("impossible date", {"due": "2026-02-30"}),
    ("unknown field", {"colour": "red"}),
    ("unknown field with a known one", {"title": "x", "colour": "red"}),
    ("null title", {"title": None}),
    ("blank title", {"title": "  "}),
    ("null priority", {"priority": None}),
    ("bad priority", {"priority": "asap"}),
    ("null tags", {"tags": None}),
    ("tags not a list", {"tags": "home"}),
    ("blank description", {"description": " "}),
    ("NUL", {"description": "a\u0000b"}),
]


@pytest.mark.parametrize(("name", "body"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS])
async def test_bad_edits_are_422_and_change_nothing(client, name, body):
    todo = await new_todo(client)
    response = await patch(client, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 1
    assert (await client.get("/api/v1/todos")).json()["items"] == [todo]


async def test_an_edit_needs_a_json_body(client):
    await new_todo(client)
    no_body = await client.patch("/api/v1/todos/1")
    text = await client.patch(
        "/api/v1/todos/1", content="title=x", headers={"Content-Type": "text/plain"}
    )
    assert (no_body.status_code, text.status_code) == (415, 415)
    assert await event_count(client) == 1
