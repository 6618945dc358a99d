"""Reading the log over HTTP: pages, filters, single events, state."""

from __future__ import annotations

import pytest

PROBLEM = "application/problem+json"


async def ingest(client, n: int) -> None:
    messages = [{"text": f"m{i}"} for i in range(n)]
    assert (await client.post("/api/v1/ingest/batch", json={"messages": messages})).is_success


async def test_pages_follow_next_after_seq_to_the_end(client):
    await ingest(client, 25)
    seen, after = [], 0
    while after is not None:
        page = (await client.get("/api/v1/events", params={"after_seq": after, "limit": 10})).json()
        seen += [item["seq"] for item in page["items"]]
        after = page["next_after_seq"]
    assert seen == list(range(1, 26))


async def test_events_carry_every_column(client):
    await ingest(client, 1)
    [item] = (await client.get("/api/v1/events")).json()["items"]
    assert set(item) == {
        "seq",
        "event_id",
        "type",
        "aggregate_type",
        "aggregate_id",
        "payload",
        "metadata",
        "idempotency_key",
        "occurred_at",
        "recorded_at",
        "schema_version",
        "prev_hash",
        "hash",
    }
    assert item["prev_hash"] == "0" * 64 and len(item["hash"]) == 64


async def test_filter_by_type(client):
    await ingest(client, 3)
    page = (await client.get("/api/v1/events", params={"type": "message.ingested"})).json()
    assert len(page["items"]) == 3 and page["next_after_seq"] is None
    page = (await client.get("/api/v1/events", params={"type": "todo.created"})).json()
    assert page["items"] == []


async def test_unknown_event_is_404_problem(client):
    response = await client.get("/api/v1/events/999")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


async def test_bad_query_parameters_are_422(client):
    for params in ({"limit": 0}, {"limit": 1001}, {"after_seq": -1}, {"after_seq": "x"}):
        response = await client.get("/api/v1/events", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == PROBLEM
    assert (await client.get("/api/v1/events/abc")).status_code == 422


async def test_state_reports_the_log_head(client):
    await ingest(client, 2)
    state = (await client.get("/api/v1/state")).json()
    last = (await client.get("/api/v1/events/2")).json()
    assert state["environment"] == "dev"
    assert state["events"] == {"count": 2, "last_seq": 2, "last_hash": last["hash"]}
    assert state["database"]["revision"]
    assert state["telegram"] == {"mode": "off", "running": False}


async def test_unknown_route_and_method_are_problems(client):
    assert (await client.get("/api/v1/nothing-here")).headers["content-type"] == PROBLEM
    response = await client.delete("/api/v1/events/1")
    assert response.status_code == 405 and response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/events?after_seq=9223372036854775808",
        "/api/v1/events/9223372036854775808",
        "/api/v1/events/-9223372036854775809",
    ],
)
async def test_a_seq_past_64_bits_is_a_422_not_a_500(client, path):
    response = await client.get(path)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_the_largest_seq_is_simply_not_there(client):
    assert (await client.get("/api/v1/events/9223372036854775807")).status_code == 404
    page = await client.get("/api/v1/events?after_seq=9223372036854775807")
    assert page.status_code == 200 and page.json()["items"] == []


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
async def test_a_time_utc_cannot_hold_is_a_422_and_stores_nothing(client, moment):
    response = await client.post(
        "/api/v1/ingest/message", json={"text": "x", "occurred_at": moment}
    )
    assert response.status_code == 422
    assert "UTC can hold" in response.json()["detail"]
    batch = await client.post(
        "/api/v1/ingest/batch", json={"messages": [{"text": "y", "occurred_at": moment}]}
    )
    assert batch.status_code == 422
    assert (await client.get("/api/v1/state")).json()["events"]["count"] == 0
