"""Every list pages by cursor (`after` → `next`, with `total`), todos filter and sort, and
every route refuses query parameters it does not take: over HTTP, on SQLite and
PostgreSQL."""

from __future__ import annotations

import re

import pytest

from tests.integration.test_api_objects import PROBLEM, event_count, new_todo

TODOS = 2500


async def ingest(client, texts: list[str]) -> None:
    for start in range(0, len(texts), 1000):
        batch = [{"text": text} for text in texts[start : start + 1000]]
        response = await client.post("/api/v1/ingest/batch", json={"messages": batch})
        assert response.status_code in (200, 201), response.text


async def page_through(client, path: str, **params) -> tuple[list[dict], set[int]]:
    """Every item of the list, following `next`; and the totals each page gave."""
    items, totals, after = [], set(), None
    while True:
        response = await client.get(path, params={**params, **({"after": after} if after else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        totals.add(page["total"])
        if (after := page["next"]) is None:
            return items, totals
        assert page["items"], "a page with a next page after it is never empty"


async def test_2500_todos_page_through_every_one_exactly_once(client):
    await ingest(
        client, [f"todo: item {n} #{'even' if n % 2 == 0 else 'odd'}" for n in range(1, TODOS + 1)]
    )

    items, totals = await page_through(client, "/api/v1/todos", limit=97)
    numbers = [item["number"] for item in items]
    assert numbers == list(range(1, TODOS + 1)) and totals == {TODOS}

    biggest, totals = await page_through(client, "/api/v1/todos", limit=1000)
    assert [item["number"] for item in biggest] == numbers and totals == {TODOS}

    even, totals = await page_through(client, "/api/v1/todos", tag="even", sort="due", limit=300)
    assert [item["number"] for item in even] == list(range(2, TODOS + 1, 2))
    assert totals == {TODOS // 2}


async def test_what_changes_between_pages_is_seen_once_and_new_todos_at_the_end(client):
    for n in range(1, 8):
        await new_todo(client, title=f"todo {n}")
    first = (await client.get("/api/v1/todos", params={"limit": 3})).json()
    assert [t["number"] for t in first["items"]] == [1, 2, 3] and first["total"] == 7
    # Between pages: one seen is done, one not yet seen is done, one is added.
    for number in (2, 5):
        assert (await client.post(f"/api/v1/todos/{number}/complete")).status_code == 200
    await new_todo(client, title="todo 8")
    rest, totals = await page_through(client, "/api/v1/todos", limit=3, after=first["next"])
    assert [t["number"] for t in rest] == [4, 6, 7, 8] and totals == {6}


@pytest.mark.parametrize(
    ("path", "create", "expected"),
    [
        ("/api/v1/notes", "note: note {n}", [5, 4, 3, 2, 1]),
        ("/api/v1/tracks", "track: habit {n}", [1, 2, 3, 4, 5]),
        ("/api/v1/decisions", "decide: choice {n}", [5, 4, 3, 2, 1]),
    ],
)
async def test_every_object_list_pages_with_next_and_total(client, path, create, expected):
    await ingest(client, [create.format(n=n) for n in range(1, 6)])
    first = (await client.get(path, params={"limit": 2})).json()
    assert [i["number"] for i in first["items"]] == expected[:2]
    assert (first["total"], first["next"] is not None) == (5, True)
    items, totals = await page_through(client, path, limit=2)
    assert [i["number"] for i in items] == expected and totals == {5}
    whole = (await client.get(path, params={"limit": 5})).json()
    assert (len(whole["items"]), whole["next"]) == (5, None)


async def test_events_page_by_cursor_or_by_seq_with_a_total(client):
    await ingest(client, [f"said {n}" for n in range(1, 8)] + ["todo: one more"])
    every = await event_count(client)
    items, totals = await page_through(client, "/api/v1/events", limit=3)
    assert [e["seq"] for e in items] == list(range(1, every + 1)) and totals == {every}

    typed = (await client.get("/api/v1/events", params={"type": "todo.created"})).json()
    assert typed["total"] == 1 and [e["type"] for e in typed["items"]] == ["todo.created"]

    by_seq = (await client.get("/api/v1/events", params={"after_seq": 2, "limit": 2})).json()
    assert [e["seq"] for e in by_seq["items"]] == [3, 4]
    assert by_seq["next_after_seq"] == 4 and by_seq["next"] is not None
    both = await client.get("/api/v1/events", params={"after_seq": 2, "after": by_seq["next"]})
    assert both.status_code == 422 and "not both" in both.json()["detail"]


async def test_todo_filters_and_sorts(client):
    await new_todo(client, title="later", due="2026-12-20", tags=["home"])
    await new_todo(client, title="undated", tags=["home"], priority="high")
    await new_todo(client, title="morning", due="2026-12-10T09:00:00+01:00", priority="high")
    await new_todo(client, title="all day", due="2026-12-10")

    async def titles(**params) -> list[str]:
        response = await client.get("/api/v1/todos", params=params)
        assert response.status_code == 200, response.text
        return [t["title"] for t in response.json()["items"]]

    assert await titles(sort="due") == ["all day", "morning", "later", "undated"]
    assert await titles(tag="home") == ["later", "undated"]
    assert await titles(tag="#Home", sort="due") == ["later", "undated"]
    assert await titles(priority="high") == ["undated", "morning"]
    assert await titles(due_before="2026-12-20") == ["morning", "all day"]
    assert await titles(due_after="2026-12-10", due_before="2027-01-01") == ["later"]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"sort": "title"}, "sort"),
        ({"priority": "p9"}, "priority"),
        ({"due_before": "2026-13-01"}, "due_before"),
        ({"due_after": "tomorrow"}, "due_after"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"tag": "#"}, "tag"),
        ({"after": "not a cursor"}, "after"),
        ({"after": "x" * 401}, "after"),
    ],
)
async def test_bad_list_parameters_are_a_clear_422(client, params, says):
    before = await event_count(client)
    response = await client.get("/api/v1/todos", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM and says in response.text
    assert await event_count(client) == before
    assert (await client.get("/api/v1/todos")).status_code == 200


async def test_a_cursor_of_another_list_or_order_is_refused(client):
    for n in range(3):
        await new_todo(client, title=f"todo {n}")
        await client.post("/api/v1/notes", json={"title": f"note {n}", "content": "x"})
    todos = (await client.get("/api/v1/todos", params={"limit": 1})).json()["next"]
    by_due = (await client.get("/api/v1/todos", params={"limit": 1, "sort": "due"})).json()
    searched = (await client.get("/api/v1/search", params={"q": "todo", "limit": 1})).json()
    refused = [
        ("/api/v1/notes", {"after": todos}),
        ("/api/v1/events", {"after": todos}),
        ("/api/v1/todos", {"after": by_due["next"]}),  # a due order's, to the number order
        ("/api/v1/todos", {"sort": "due", "after": todos}),
        ("/api/v1/todos", {"after": searched["next"]}),
        ("/api/v1/search", {"q": "todo", "after": todos}),
    ]
    for path, params in refused:
        response = await client.get(path, params=params)
        assert response.status_code == 422, (path, params, response.text)
        assert re.search(r"not a cursor of this (list|search)", response.json()["detail"])


async def test_every_route_refuses_a_query_parameter_it_does_not_take(client):
    """Each operation in the API document, sent `?limt=5`: 422 naming it, nothing stored."""
    document = (await client.get("/openapi.json")).json()
    before = await event_count(client)
    tried = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            url = re.sub(r"\{[^}]+\}", "1", path)
            response = await client.request(method, url, params={"limt": "5"}, json={})
            assert response.status_code == 422, (method, path, response.text)
            assert response.headers["content-type"] == PROBLEM
            assert "unknown query parameter limt" in response.json()["detail"], (method, path)
            declared = {p["name"] for p in operation.get("parameters", ()) if p["in"] == "query"}
            assert all(name in response.json()["detail"] for name in declared), (path, declared)
            tried += 1
    assert tried >= 30  # the document lists every operation (36 when written)
    assert await event_count(client) == before


async def test_the_token_is_checked_before_the_query(client):
    """One dependency guards /api/v1 (app/api/app.py): without the token a misspelt query
    is a 401, so the parameters a route takes are shown to its owner only."""
    response = await client.get(
        "/api/v1/todos", params={"limt": "5"}, headers={"Authorization": "Bearer wrong"}
    )
    assert response.status_code == 401
    assert "limt" not in response.text
    response = await client.get("/api/v1/todos", params={"limt": "5"})
    assert response.status_code == 422
