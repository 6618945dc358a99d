"""GET /api/v1/agenda: overdue and due todos, check-ins and reviews over the owner's days
(Europe/Berlin here), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from app.container import Container, build_container, close_container
from infrastructure.migrate import upgrade
from tests.conftest import make_settings
from tests.fakes import FakeClock

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(database_url: str):
    return make_settings(database_url, HELIONYX_TIMEZONE="Europe/Berlin")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 12, 6, 12, 0, tzinfo=UTC))  # Sunday 13:00 in Berlin


@pytest.fixture
async def container(settings, clock) -> AsyncIterator[Container]:
    container = build_container(settings)
    container.clock.override(providers.Object(clock))
    await upgrade(container.engine(), settings.tier)
    try:
        yield container
    finally:
        await close_container(container)


async def post(client, path: str, **body) -> dict:
    response = await client.post(f"/api/v1/{path}", json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def agenda(client, **params) -> dict:
    response = await client.get("/api/v1/agenda", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def numbers(items) -> list[int]:
    return [item["number"] for item in items]


async def test_today_and_the_week_in_the_owners_zone(client, clock):
    await post(client, "tracks", title="running", check_in_every=1)  # due Monday
    await post(client, "tracks", title="piano", check_in_every=3)  # due Wednesday
    await post(client, "decisions", title="use SQLite", review_on="2026-12-07")
    await post(client, "decisions", title="move", review_on="2026-12-10")
    for title, due in [
        ("standup", "2026-12-07T08:30:00+01:00"),
        ("bills", "2026-12-05"),
        ("milk", "2026-12-07"),
        ("dentist", "2026-12-07T18:00:00+01:00"),
        ("taxes", "2026-12-08"),
        ("far", "2026-12-20"),
        ("someday", None),
    ]:
        await post(client, "todos", title=title, due=due)
    clock.current = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin

    today = await agenda(client)
    assert (today["start"], today["end"], today["timezone"]) == (
        "2026-12-07",
        "2026-12-07",
        "Europe/Berlin",
    )
    assert [t["title"] for t in today["overdue"]] == ["bills", "standup"]
    assert [t["title"] for t in today["due"]] == ["milk", "dentist"]
    assert today["due"][1]["due_at"] == "2026-12-07T17:00:00Z"
    [check_in] = today["check_ins"]
    assert check_in["track"]["title"] == "running"
    assert (check_in["due_on"], check_in["overdue"]) == ("2026-12-07", False)
    assert [d["title"] for d in today["reviews"]] == ["use SQLite"]

    week = await agenda(client, days=7)
    assert week["end"] == "2026-12-13"
    assert [t["title"] for t in week["due"]] == ["milk", "dentist", "taxes"]
    assert [(c["track"]["title"], c["due_on"]) for c in week["check_ins"]] == [
        ("running", "2026-12-07"),
        ("piano", "2026-12-09"),
    ]
    assert numbers(week["reviews"]) == [1, 2]

    clock.current = datetime(2026, 12, 8, 23, 30, tzinfo=UTC)  # Wednesday 00:30 in Berlin
    later = await agenda(client)
    assert later["start"] == "2026-12-09"
    # By day, a day's untimed todos before its timed ones.
    assert [t["title"] for t in later["overdue"]] == [
        "bills",
        "milk",
        "standup",
        "dentist",
        "taxes",
    ]
    assert [(c["track"]["title"], c["overdue"]) for c in later["check_ins"]] == [
        ("running", True),
        ("piano", False),
    ]


async def test_done_todos_and_reviewed_decisions_leave_it(client, clock):
    await post(client, "todos", title="milk", due="2026-12-06")
    await post(client, "decisions", title="use SQLite", review_on="2026-12-06")
    assert (await client.post("/api/v1/todos/1/complete")).status_code == 200
    outcome = await client.post("/api/v1/decisions/1/outcome", json={"outcome": "fine"})
    assert outcome.status_code == 200, outcome.text
    empty = await agenda(client, days=366)
    assert empty["end"] == "2027-12-06"
    assert [empty[key] for key in ("overdue", "due", "check_ins", "reviews")] == [[]] * 4


@pytest.mark.parametrize(
    "query", ["days=0", "days=-1", "days=abc", "days=367", "days=", "day=7", "days=7&sort=due"]
)
async def test_bad_queries_are_refused(client, query):
    response = await client.get(f"/api/v1/agenda?{query}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"] == "urn:helionyx:problem:validation-error"


async def test_an_unknown_parameter_is_named(client):
    problem = (await client.get("/api/v1/agenda?days=7&weeks=2")).json()
    assert problem["errors"] == [{"loc": "query.weeks", "msg": "unknown query parameter"}]


async def test_the_agenda_needs_the_token(client):
    response = await client.get("/api/v1/agenda", headers={"Authorization": ""})
    assert response.status_code == 401


async def test_the_document_declares_it(client):
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"]["/api/v1/agenda"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/AgendaOut"}
    assert {"401", "422", "429", "503"} <= operation["responses"].keys()
    [days] = operation["parameters"]
    assert days["name"] == "days" and days["schema"]["maximum"] == 366
