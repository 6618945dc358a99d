"""GET /metrics: what the service counts, by route template, and who may read it."""

from __future__ import annotations

import logging

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.container import build_container, close_container
from domain.events import NewEvent
from infrastructure.migrate import upgrade
from tests.conftest import API_TOKEN, make_settings


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient) -> dict:
    response = await client.get("/metrics", headers={"Authorization": ""})  # open in dev
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return samples(response.text)


async def test_metrics_follow_what_the_service_does(client, container, caplog):
    before = await scrape(client)
    assert value(before, "helionyx_event_head_seq") == 0
    assert value(before, "helionyx_telegram_updates_total", outcome="refused") == 0

    caplog.set_level(logging.INFO, logger="helionyx.access")
    for n in range(2):
        response = await client.post("/api/v1/ingest/message", json={"text": f"m{n}"})
        assert response.status_code == 201
    batch = {"messages": [{"text": f"b{n}"} for n in range(3)]}
    assert (await client.post("/api/v1/ingest/batch", json=batch)).status_code == 200
    assert (await client.get("/api/v1/events/1")).status_code == 200
    assert (await client.get("/api/v1/events/999")).status_code == 404
    assert (await client.get("/no/such/path")).status_code == 404
    assert (await client.get("/api/v1/state", headers={"Authorization": "x"})).status_code == 401
    async with container.uow_factory()(write=True) as uow:  # what a notification run appends
        await uow.events.append(
            [
                NewEvent(type=t, aggregate_type="n", aggregate_id="k", payload={})
                for t in (
                    "notification.scheduled",
                    "notification.delivered",
                    "notification.expired",
                )
            ]
        )
        await uow.commit()
    async with container.uow_factory()(write=True) as uow:  # rolled back: never counted
        await uow.events.append(
            [NewEvent(type="note.recorded", aggregate_type="n", aggregate_id="x", payload={})]
        )

    after = await scrape(client)
    http = "helionyx_http_requests_total"
    assert value(after, http, method="POST", route="/api/v1/ingest/message", status="201") == 2
    assert value(after, http, method="GET", route="/api/v1/events/{seq}", status="200") == 1
    assert value(after, http, method="GET", route="/api/v1/events/{seq}", status="404") == 1
    assert value(after, http, method="GET", route="unmatched", status="404") == 1
    assert value(after, http, method="GET", route="/api/v1/state", status="401") == 1
    assert not [key for key in after if ("route", "/api/v1/events/1") in key[1]]
    latency = "helionyx_http_request_duration_seconds_count"
    assert value(after, latency, method="POST", route="/api/v1/ingest/batch") == 1

    appended = "helionyx_events_appended_total"
    assert value(after, appended, type="message.ingested") == 5
    assert value(after, appended, type="notification.delivered") == 1
    assert value(after, appended, type="note.recorded") == 0
    assert value(after, "helionyx_notifications_delivered_total") == 1
    assert value(after, "helionyx_notifications_expired_total") == 1
    assert value(after, "helionyx_ingest_batch_size_count") == 1
    assert value(after, "helionyx_ingest_batch_size_sum") == 3
    head = await container.event_log().head()
    assert value(after, "helionyx_event_head_seq") == head.last_seq == 8

    lines = [r.getMessage() for r in caplog.records if r.name == "helionyx.access"]
    assert "POST /api/v1/ingest/message 201" in lines[0] and lines[0].endswith(" ms")
    assert any(line.startswith("GET unmatched 404 ") for line in lines)
    assert len(lines) == 8


@pytest.mark.postgres
async def test_metrics_need_the_token_outside_dev(postgres_url: str):
    settings = make_settings(postgres_url, tier="staging")
    container = build_container(settings)
    try:
        await upgrade(container.engine(), settings.tier)
        transport = httpx.ASGITransport(app=container.http_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            assert (await http.get("/metrics")).status_code == 401
            wrong = {"Authorization": "Bearer not-the-token"}
            assert (await http.get("/metrics", headers=wrong)).status_code in (401, 403)
            right = {"Authorization": f"Bearer {API_TOKEN}"}
            response = await http.get("/metrics", headers=right)
        assert response.status_code == 200
        assert "helionyx_http_requests_total" in response.text
    finally:
        await close_container(container)


async def test_invented_methods_and_paths_do_not_grow_the_series(client):
    for n in range(50):
        await client.request(f"BREW{n}", f"/nowhere/{n}")
        await client.get(f"/no/such/path/{n}")
    found = await scrape(client)
    methods = {
        dict(labels).get("method")
        for (name, labels) in found
        if name == "helionyx_http_requests_total"
    }
    routes = {
        dict(labels).get("route")
        for (name, labels) in found
        if name == "helionyx_http_requests_total"
    }
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert not any(route and ("/nowhere/" in route or "/no/such/" in route) for route in routes)
    assert (
        value(
            found, "helionyx_http_requests_total", method="other", route="unmatched", status="404"
        )
        + value(
            found, "helionyx_http_requests_total", method="other", route="unmatched", status="405"
        )
        >= 50
    )
