"""A scripted day of every command through /api/v1/interactions on the real process, in
Europe/Berlin, with a restart in the middle: every answer right, nothing lost."""

from __future__ import annotations

import signal

import pytest

from tests.e2e.service import Service, cli

pytestmark = pytest.mark.e2e

MORNING = [
    ("/todo call the dentist next monday 9am !high #health", "Todo #1: call the dentist"),
    ("/todo pay rent by friday", "Todo #2: pay rent (due Fri"),
    ("/todo book flights tommorow", "I could not read “tommorow” as a date"),
    ("/edit 3 book flights in 3 days", "Changed todo #3: title “book flights”; due"),
    ("/done 2", "Done: todo #2, pay rent"),
    ("/reopen 2", "Reopened: todo #2, pay rent"),
    ("/cancel 2", "Cancelled: todo #2, pay rent"),
    ("/done 2", "Todo 2 is cancelled."),
    ("/undo", "Undone: todo #2, pay rent is open again"),
    ("/track running every 2 days", "Track #1: running (every 2 days)"),
    ("/track running", "Already tracking running as #1."),
    ("/checkin running 5 km", "Checked in: track #1, running (5 km)"),
]
AFTERNOON = [
    ("/checkin 1", "1 in a row"),  # the same day: a check-in more, not a day more
    (
        "/decide use SQLite because one user review in 3 months",
        "Decision #1: use SQLite - because one user (review on",
    ),
    ("/supersede 1 use PostgreSQL because backups", "Superseded: decision #1, use SQLite, by #2"),
    ("/revoke 2 the project was dropped", "Revoked: decision #2, use PostgreSQL"),
    ("/outcome 1 fine for a year", "Outcome of decision #1, use SQLite: fine for a year"),
    ("/note wifi is on the router #home", "Note #1: wifi is on the router"),
    ("/archive 1", "Archived: note #1"),
    ("/todo 99 problems", "Todo #4"),
    ("/cancel 99", "There is no todo 99."),
    ("/decisions all", "[superseded by #2]"),
]


def say(client, text: str, external_id: str) -> dict:
    response = client.post("/api/v1/interactions", json={"text": text, "external_id": external_id})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_day_of_every_command_survives_a_restart(migrated_sqlite, tmp_path):
    service = Service(migrated_sqlite, tmp_path / "service.log", HELIONYX_TIMEZONE="Europe/Berlin")
    try:
        service.start()
        with service.client() as client:
            for index, (text, expected) in enumerate(MORNING):
                assert expected in say(client, text, f"m{index}")["reply"], text
        service.signal(signal.SIGTERM)
        assert service.wait() == 0
        service.start()
        with service.client() as client:
            for index, (text, expected) in enumerate(AFTERNOON):
                assert expected in say(client, text, f"a{index}")["reply"], text
            again = say(client, MORNING[4][0], "m4")  # a redelivery changes nothing
            assert again["replayed"] and again["reply"] == "Done: todo #2, pay rent"

            todos = {
                t["number"]: t
                for t in client.get("/api/v1/todos", params={"status": "all"}).json()["items"]
            }
            assert todos[1]["due_at"] is not None and todos[1]["priority"] == "high"
            assert todos[2]["status"] == "open" and todos[3]["title"] == "book flights"
            tracks = client.get("/api/v1/tracks").json()["items"]
            assert [(t["check_ins"], t["streak"]) for t in tracks] == [(2, 1)]
            decisions = client.get("/api/v1/decisions", params={"status": "all"}).json()
            assert {d["number"]: d["status"] for d in decisions["items"]} == {
                1: "superseded",
                2: "revoked",
            }
            assert client.get("/api/v1/notes").json()["items"] == []
            events = client.get("/api/v1/events", params={"limit": 1000}).json()["items"]
            messages = [e for e in events if e["type"] == "message.ingested"]
            assert len(messages) == len(MORNING) + len(AFTERNOON)
    finally:
        service.stop()
    verify = cli(migrated_sqlite, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
