"""A note's lifecycle over HTTP (edit, archive, read with its history; archived notes
leave lists and search), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.test_api_objects import PROBLEM, UNKNOWN_UUID, event_count


async def new_note(client, text: str) -> dict:
    response = await client.post("/api/v1/ingest/message", json={"text": f"note: {text}"})
    assert response.status_code == 201, response.text
    [derived] = response.json()["derived"]
    return (await client.get(f"/api/v1/notes/{derived['aggregate_id']}")).json()


async def listed(client, **params) -> list[int]:
    response = await client.get("/api/v1/notes", params=params)
    assert response.status_code == 200, response.text
    return [note["number"] for note in response.json()["items"]]


async def test_an_edit_changes_only_the_fields_sent(client):
    note = await new_note(client, "wifi password #home")
    assert (note["status"], note["tags"]) == ("active", ["home"])

    response = await client.patch(
        "/api/v1/notes/1", json={"content": "it is on the router", "tags": ["house"]}
    )
    assert response.status_code == 200, response.text
    edited = response.json()
    assert (edited["title"], edited["content"], edited["tags"]) == (
        note["title"],
        "it is on the router",
        ["house"],
    )
    assert edited["updated_at"] >= note["updated_at"]
    [event] = (await client.get("/api/v1/events", params={"type": "note.edited"})).json()["items"]
    assert event["payload"]["changes"] == {"content": "it is on the router", "tags": ["house"]}

    before = await event_count(client)
    same = await client.patch("/api/v1/notes/1", json={"title": note["title"], "tags": ["house"]})
    assert same.status_code == 200 and same.json() == edited
    assert await event_count(client) == before


async def test_archived_notes_leave_lists_and_search(client):
    await new_note(client, "wifi is on the router")
    await new_note(client, "wifi at work is guest")

    response = await client.post("/api/v1/notes/1/archive")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "archived"

    assert await listed(client) == [2]
    assert await listed(client, status="active") == [2]
    assert await listed(client, search="wifi") == [2]
    assert await listed(client, status="archived") == [1]
    assert await listed(client, status="all") == [2, 1]
    assert await listed(client, status="all", search="router") == [1]

    before = await event_count(client)
    again = await client.post("/api/v1/notes/1/archive")
    assert again.status_code == 409 and again.headers["content-type"] == PROBLEM
    assert again.json()["detail"] == "note 1 is already archived"
    assert await event_count(client) == before


async def test_a_note_is_read_with_its_history_in_order(client):
    created = await new_note(client, "dentist on Monday")
    await new_note(client, "another")
    await client.patch("/api/v1/notes/1", json={"title": "dentist on Tuesday"})
    await client.post("/api/v1/notes/1/archive")

    response = await client.get("/api/v1/notes/1")
    assert response.status_code == 200, response.text
    note = response.json()
    history = note.pop("history")
    assert (note["id"], note["title"], note["status"]) == (
        created["id"],
        "dentist on Tuesday",
        "archived",
    )
    assert [e["type"] for e in history] == ["note.recorded", "note.edited", "note.archived"]
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    assert history[1]["payload"]["before"] == {"title": "dentist on Monday"}
    assert created["history"] == history[:1]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/notes/99", None),
        ("PATCH", "/api/v1/notes/99", {"title": "x"}),
        ("POST", "/api/v1/notes/99/archive", None),
    ],
)
async def test_an_unknown_note_is_404(client, method, path, body):
    await new_note(client, "n")
    before = await event_count(client)
    response = await client.request(method, path, json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "there is no note 99"
    assert await event_count(client) == before


@pytest.mark.parametrize("ref", [UNKNOWN_UUID, "wifi", "1e3"])
async def test_a_note_named_by_nothing_is_404(client, ref):
    assert (await client.get(f"/api/v1/notes/{ref}")).status_code == 404
    assert (await client.post(f"/api/v1/notes/{ref}/archive")).status_code == 404
    assert (await client.patch(f"/api/v1/notes/{ref}", json={"title": "x"})).status_code == 404


BAD_EDITS = [
    ("empty", {}),
    ("unknown field", {"text": "x"}),
    ("null title", {"title": None}),
    ("blank title", {"title": " "}),
    ("null content", {"content": None}),
    ("content not text", {"content": 5}),
    ("blank tag", {"tags": [""]}),
    ("NUL", {"content": "a\u0000b"}),
]


@pytest.mark.parametrize(("name", "body"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS])
async def test_bad_edits_are_422_and_change_nothing(client, name, body):
    note = await new_note(client, "n")
    before = await event_count(client)
    response = await client.patch("/api/v1/notes/1", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == before
    assert (await client.get("/api/v1/notes/1")).json() == note


async def test_an_empty_content_clears_it(client):
    await new_note(client, "n")
    response = await client.patch("/api/v1/notes/1", json={"content": ""})
    assert response.status_code == 200 and response.json()["content"] == ""
