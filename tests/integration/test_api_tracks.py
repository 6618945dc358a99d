"""A track's lifecycle over HTTP (start, check in, pause, resume, finish, read with its
history), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.test_api_objects import PROBLEM, UNKNOWN_UUID, event_count


async def new_track(client, **body) -> dict:
    response = await client.post("/api/v1/tracks", json={"title": "running", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def move(client, step: str, ref: str = "1"):
    return await client.post(f"/api/v1/tracks/{ref}/{step}")


async def test_start_a_track(client):
    track = await new_track(client, description="before work", check_in_every=3)
    assert (track["number"], track["status"], track["check_in_every"]) == (1, "active", 3)
    assert (track["check_ins"], track["streak"], track["last_check_in_at"]) == (0, 0, None)
    assert track["description"] == "before work"
    assert (await new_track(client, title="Spanish"))["check_in_every"] == 7
    listed = (await client.get("/api/v1/tracks")).json()["items"]
    assert [t["title"] for t in listed] == ["running", "Spanish"] and listed[0] == track


async def test_a_second_active_track_of_the_same_name_is_409(client):
    await new_track(client)
    before = await event_count(client)
    response = await client.post("/api/v1/tracks", json={"title": "  Running "})
    assert response.status_code == 409 and response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "already tracking running as #1"
    assert await event_count(client) == before

    assert (await move(client, "pause")).status_code == 200
    assert (await client.post("/api/v1/tracks", json={"title": "running"})).status_code == 409
    assert (await move(client, "finish")).status_code == 200
    assert (await new_track(client))["number"] == 2


async def test_check_ins_count_and_a_day_counts_once_in_the_streak(client):
    await new_track(client)

    first = await client.post("/api/v1/tracks/1/check-ins")  # no body at all
    assert first.status_code == 201, first.text
    assert (first.json()["check_ins"], first.json()["streak"]) == (1, 1)
    assert first.json()["last_check_in_at"] is not None

    second = await client.post("/api/v1/tracks/1/check-ins", json={"note": "5 km, easy"})
    assert second.status_code == 201, second.text
    # The same day: one more check-in, no more in a row (tests/unit/test_tracks.py has
    # the days that follow, in the owner's zone).
    assert (second.json()["check_ins"], second.json()["streak"]) == (2, 1)
    third = await client.post("/api/v1/tracks/1/check-ins", json={})
    assert third.status_code == 201 and third.json()["check_ins"] == 3

    events = (await client.get("/api/v1/events", params={"type": "track.checked_in"})).json()
    assert [e["payload"]["note"] for e in events["items"]] == [None, "5 km, easy", None]
    assert {e["payload"]["zone"] for e in events["items"]} == {"UTC"}  # the owner's zone


async def test_pause_resume_finish(client):
    await new_track(client)
    paused = await move(client, "pause")
    assert paused.status_code == 200 and paused.json()["status"] == "paused"
    resumed = await move(client, "resume")
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"
    finished = await move(client, "finish")
    assert finished.status_code == 200 and finished.json()["status"] == "done"
    assert (await client.get("/api/v1/tracks", params={"status": "done"})).json()["items"] == [
        finished.json()
    ]


@pytest.mark.parametrize(
    ("steps", "forbidden", "detail"),
    [
        (["pause"], "check-ins", "track 1 is paused"),
        (["pause"], "pause", "track 1 is already paused"),
        ([], "resume", "track 1 is already active"),
        (["finish"], "resume", "track 1 is done"),
        (["finish"], "finish", "track 1 is already done"),
        (["finish"], "check-ins", "track 1 is done"),
    ],
)
async def test_a_move_the_lifecycle_forbids_is_409_and_stores_nothing(
    client, steps, forbidden, detail
):
    await new_track(client)
    for step in steps:
        assert (await move(client, step)).status_code == 200
    before = await event_count(client)

    response = await move(client, forbidden)
    assert response.status_code == 409, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == detail
    assert await event_count(client) == before


async def test_a_track_is_read_with_its_history_in_order(client):
    created = await new_track(client)
    await new_track(client, title="Spanish")
    for step in ("check-ins", "pause", "resume", "check-ins", "finish"):
        assert (await move(client, step)).status_code in (200, 201)

    response = await client.get(f"/api/v1/tracks/{created['id']}")
    assert response.status_code == 200, response.text
    track = response.json()
    history = track.pop("history")
    assert (
        track == (await client.get("/api/v1/tracks", params={"status": "done"})).json()["items"][0]
    )
    assert [e["type"] for e in history] == [
        "track.started",
        "track.checked_in",
        "track.paused",
        "track.resumed",
        "track.checked_in",
        "track.finished",
    ]
    assert [e["seq"] for e in history] == sorted(e["seq"] for e in history)
    assert (await client.get("/api/v1/tracks/1")).json()["history"] == history


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/tracks/99"),
        ("POST", "/api/v1/tracks/99/check-ins"),
        ("POST", "/api/v1/tracks/99/pause"),
        ("POST", "/api/v1/tracks/99/resume"),
        ("POST", "/api/v1/tracks/99/finish"),
    ],
)
async def test_an_unknown_track_is_404(client, method, path):
    await new_track(client)
    response = await client.request(method, path)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "there is no track 99"
    assert await event_count(client) == 1


@pytest.mark.parametrize("ref", [UNKNOWN_UUID, "running", "-1"])
async def test_a_track_named_by_nothing_is_404(client, ref):
    assert (await client.get(f"/api/v1/tracks/{ref}")).status_code == 404
    for step in ("check-ins", "pause", "resume", "finish"):
        assert (await move(client, step, ref)).status_code == 404


BAD_TRACKS = [
    ("empty", {}),
    ("blank title", {"title": " "}),
    ("unknown field", {"title": "x", "every": 3}),
    ("no interval", {"title": "x", "check_in_every": 0}),
    ("more than a year", {"title": "x", "check_in_every": 366}),
    ("an interval too large to store", {"title": "x", "check_in_every": 2**40}),
    ("interval as text", {"title": "x", "check_in_every": "3"}),
    ("fractional interval", {"title": "x", "check_in_every": 1.5}),
    ("null interval", {"title": "x", "check_in_every": None}),
]


@pytest.mark.parametrize(("name", "body"), BAD_TRACKS, ids=[b[0] for b in BAD_TRACKS])
async def test_bad_tracks_are_422_and_store_nothing(client, name, body):
    response = await client.post("/api/v1/tracks", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 0


@pytest.mark.parametrize("body", [{"note": 5}, {"note": " "}, {"mood": "good"}, [], "null"])
async def test_bad_check_ins_are_422_and_store_nothing(client, body):
    await new_track(client)
    response = await client.post("/api/v1/tracks/1/check-ins", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 1
