"""`GET /api/v1/search` over HTTP, on SQLite and PostgreSQL: hits, pages, and every bad
request a 422 problem, unknown query parameters included."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


async def said(client, *texts: str) -> list[int]:
    answer = await client.post(
        "/api/v1/ingest/batch", json={"messages": [{"text": text} for text in texts]}
    )
    assert answer.is_success
    return [item["seq"] for item in answer.json()["results"]]


async def problem(client, params: dict, status: int = 422) -> dict:
    answer = await client.get("/api/v1/search", params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    return answer.json()


async def test_hits_are_found_and_paged(client):
    answer = await client.post("/api/v1/ingest/message", json={"text": "note: Home network #home"})
    assert answer.status_code == 201
    await said(client, "the WiFi password is on the router", "wifi again", "nothing here")
    first = await client.get("/api/v1/search", params={"q": "wifi", "limit": 1})
    assert first.status_code == 200
    page = first.json()
    assert page["total"] == 2 and page["next"]
    [hit] = page["items"]
    assert set(hit) == {"kind", "number", "title", "snippet", "status"}
    assert hit["kind"] == "message" and hit["status"] is None
    rest = (
        await client.get("/api/v1/search", params={"q": "WIFI", "limit": 5, "after": page["next"]})
    ).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {hit["snippet"], rest["items"][0]["snippet"]} == {
        "the «WiFi» password is on the router",
        "«wifi» again",
    }
    notes = (await client.get("/api/v1/search", params={"q": "home", "types": "note"})).json()
    assert [(h["kind"], h["number"], h["status"]) for h in notes["items"]] == [
        ("note", 1, "active")
    ]


async def test_a_message_is_found_right_after_its_201(client):
    answer = await client.post("/api/v1/ingest/message", json={"text": "Привет, Ärger 😀"})
    assert answer.status_code == 201
    page = (await client.get("/api/v1/search", params={"q": "привет arger"})).json()
    assert [(h["kind"], h["number"]) for h in page["items"]] == [("message", answer.json()["seq"])]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"q": "wifi", "limt": "5"}, "unknown query parameter limt"),
        ({"q": "wifi", "Q": "x", "page": "2"}, "unknown query parameter Q, page"),
        ({"q": ""}, "say what to search for"),
        ({"q": "   "}, "say what to search for"),
        ({"q": "😀 !!"}, "letters or digits"),
        ({"q": " ".join(["word"] * 1000)}, "at most"),
        ({"q": "wifi", "types": "todo,notes"}, "notes is not a kind"),
        ({"q": "wifi", "types": ""}, "at least one kind"),
        ({"q": "wifi", "after": "not-a-cursor"}, "not a cursor of this search"),
        ({"q": "wifi", "limit": "0"}, "the request is not valid"),
        ({"q": "wifi", "limit": "101"}, "the request is not valid"),
        ({}, "the request is not valid"),
    ],
)
async def test_bad_requests_are_422_problems(client, params, says):
    body = await problem(client, params)
    assert body["status"] == 422 and says in body["detail"]


async def test_a_cursor_of_another_search_is_refused(client):
    await said(client, "lantern one", "lantern two", "lantern and tent")
    page = (await client.get("/api/v1/search", params={"q": "lantern", "limit": 1})).json()
    for other in [{"q": "tent"}, {"q": "lantern", "types": "message"}]:
        body = await problem(client, {**other, "after": page["next"]})
        assert "not a cursor of this search" in body["detail"]


async def test_fts_syntax_in_a_query_is_only_words(client):
    await said(client, "near the wifi: not here (or there)")
    for q in [
        '"NEAR" wifi',
        "wifi*",
        "-wifi",
        "NOT wifi",
        "body:wifi",
        "wifi OR",
        "(wifi",
        "{body}: wifi",
        "'; DROP TABLE events; --",
        "%00 wifi",
        "a:* & b",
    ]:
        answer = await client.get("/api/v1/search", params={"q": q})
        assert answer.status_code in (200, 422), (q, answer.text)
    found = (await client.get("/api/v1/search", params={"q": "NOT wifi: (or"})).json()
    assert found["total"] == 1


async def test_the_route_needs_the_token(client):
    answer = await client.get(
        "/api/v1/search", params={"q": "wifi"}, headers={"Authorization": "Bearer wrong"}
    )
    assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM


async def test_openapi_declares_the_route(client):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/search"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {"q", "types", "limit", "after"}
    problem_json = {"$ref": "#/components/schemas/Problem"}
    for status in ("401", "422", "429", "503"):
        assert operation["responses"][status]["content"] == {PROBLEM: {"schema": problem_json}}
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/SearchPageOut"}
    assert set(document["components"]["schemas"]["SearchHitOut"]["properties"]) == {
        "kind",
        "number",
        "title",
        "snippet",
        "status",
    }
