"""A decision's lifecycle over HTTP (a review day, revoke, an outcome, read with its
history), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.test_api_objects import PROBLEM, UNKNOWN_UUID, event_count, new_decision


async def test_a_decision_can_name_its_review_day(client):
    decision = await new_decision(client, review_on="2027-03-31")
    assert decision["review_on"] == "2027-03-31"
    assert (decision["outcome"], decision["reviewed_at"], decision["revoke_reason"]) == (
        None,
        None,
        None,
    )
    assert (await new_decision(client, title="b"))["review_on"] is None
    superseding = await client.post(
        "/api/v1/decisions/1/supersede", json={"title": "c", "review_on": "2027-06-30"}
    )
    assert superseding.json()["review_on"] == "2027-06-30"


@pytest.mark.parametrize(
    "review_on", ["86400", "2027-03-31T09:00:00+01:00", "2027-02-30", "next month", 20270331]
)
async def test_a_review_day_is_a_date(client, review_on):
    response = await client.post("/api/v1/decisions", json={"title": "x", "review_on": review_on})
    assert response.status_code == 422 and response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 0


async def test_revoke_with_or_without_a_reason(client):
    await new_decision(client)
    await new_decision(client, title="Use Redis")

    bare = await client.post("/api/v1/decisions/1/revoke")
    assert bare.status_code == 200, bare.text
    assert (bare.json()["status"], bare.json()["revoke_reason"]) == ("revoked", None)
    reasoned = await client.post("/api/v1/decisions/2/revoke", json={"reason": "no need"})
    assert reasoned.status_code == 200, reasoned.text
    assert reasoned.json()["revoke_reason"] == "no need"

    assert (await client.get("/api/v1/decisions")).json()["items"] == []
    revoked = (await client.get("/api/v1/decisions", params={"status": "revoked"})).json()
    assert [d["number"] for d in revoked["items"]] == [2, 1]


@pytest.mark.parametrize(
    ("superseded", "detail"),
    [
        (False, "decision 1 is already revoked"),
        (True, "decision 1 is superseded"),
    ],
)
async def test_revoking_what_is_not_active_is_409_and_stores_nothing(client, superseded, detail):
    await new_decision(client)
    if superseded:
        await client.post("/api/v1/decisions/1/supersede", json={"title": "newer"})
    else:
        await client.post("/api/v1/decisions/1/revoke")
    before = await event_count(client)

    response = await client.post("/api/v1/decisions/1/revoke", json={"reason": "again"})
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == detail
    assert await event_count(client) == before


async def test_an_outcome_is_recorded_whatever_the_status_and_a_later_one_replaces_it(client):
    await new_decision(client)
    response = await client.post("/api/v1/decisions/1/outcome", json={"outcome": "it worked"})
    assert response.status_code == 200, response.text
    reviewed = response.json()
    assert (reviewed["outcome"], reviewed["status"]) == ("it worked", "active")
    assert reviewed["reviewed_at"] is not None

    await client.post("/api/v1/decisions/1/revoke")
    later = await client.post("/api/v1/decisions/1/outcome", json={"outcome": "it stopped"})
    assert later.status_code == 200, later.text
    assert (later.json()["outcome"], later.json()["status"]) == ("it stopped", "revoked")
    events = (await client.get("/api/v1/events", params={"type": "decision.reviewed"})).json()
    assert [e["payload"]["outcome"] for e in events["items"]] == ["it worked", "it stopped"]


async def test_a_decision_is_read_with_its_history_in_order(client):
    old = await new_decision(client)
    await client.post("/api/v1/decisions/1/outcome", json={"outcome": "too slow"})
    new = (
        await client.post("/api/v1/decisions/1/supersede", json={"title": "Use PostgreSQL"})
    ).json()

    response = await client.get("/api/v1/decisions/1")
    assert response.status_code == 200, response.text
    decision = response.json()
    history = decision.pop("history")
    assert (decision["id"], decision["status"], decision["superseded_by"]) == (
        old["id"],
        "superseded",
        new["id"],
    )
    assert [e["type"] for e in history] == [
        "decision.recorded",
        "decision.reviewed",
        "decision.superseded",
    ]
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    assert history[2]["payload"]["superseded_by"] == new["id"]

    newer = (await client.get(f"/api/v1/decisions/{new['id']}")).json()
    assert [e["type"] for e in newer["history"]] == ["decision.recorded"]
    assert newer["supersedes"] == old["id"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/decisions/99", None),
        ("POST", "/api/v1/decisions/99/revoke", None),
        ("POST", "/api/v1/decisions/99/revoke", {"reason": "x"}),
        ("POST", "/api/v1/decisions/99/outcome", {"outcome": "x"}),
    ],
)
async def test_an_unknown_decision_is_404(client, method, path, body):
    await new_decision(client)
    response = await client.request(method, path, json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "there is no decision 99"
    assert await event_count(client) == 1


@pytest.mark.parametrize("ref", [UNKNOWN_UUID, "sqlite", "0x1"])
async def test_a_decision_named_by_nothing_is_404(client, ref):
    assert (await client.get(f"/api/v1/decisions/{ref}")).status_code == 404
    assert (await client.post(f"/api/v1/decisions/{ref}/revoke")).status_code == 404
    outcome = await client.post(f"/api/v1/decisions/{ref}/outcome", json={"outcome": "x"})
    assert outcome.status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("outcome", {}),
        ("outcome", {"outcome": " "}),
        ("outcome", {"outcome": None}),
        ("outcome", {"outcome": "x", "score": 3}),
        ("revoke", {"reason": 5}),
        ("revoke", {"reason": " "}),
        ("revoke", {"why": "x"}),
    ],
)
async def test_bad_bodies_are_422_and_store_nothing(client, path, body):
    await new_decision(client)
    response = await client.post(f"/api/v1/decisions/1/{path}", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 1


async def test_an_outcome_needs_a_body(client):
    await new_decision(client)
    response = await client.post("/api/v1/decisions/1/outcome")
    assert response.status_code == 415 and response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 1
