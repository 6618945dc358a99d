"""The conversation over POST /api/v1/interactions, on SQLite and PostgreSQL, and the
extractor the container wires in (rules, or the LLM falling back to the rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from dependency_injector import providers

from app.container import build_container, close_container
from domain.replies import day
from domain.rules_extractor import RulesExtractor
from infrastructure.extractors.llm import OpenAICompatibleExtractor
from tests.conftest import make_settings
from tests.support.llm_stub import LlmStub

PROBLEM = "application/problem+json"


async def say(client, text: str, **extra) -> dict:
    response = await client.post("/api/v1/interactions", json={"text": text, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["reply"]) <= 4000
    return body


async def event_count(client) -> int:
    return (await client.get("/api/v1/stats")).json()["events"]["total"]


async def test_export_returns_the_markdown_document_the_chat_would_send(client):
    await say(client, "/todo renew passport !high #admin")
    plain = await say(client, "/todos")
    assert plain["document"] is None

    exported = await say(client, "/export")
    document = exported["document"]
    assert document["filename"] in exported["reply"]
    assert document["filename"].startswith("helionyx-") and document["filename"].endswith(".md")
    assert document["media_type"] == "text/markdown; charset=utf-8"
    assert "- [ ] #1 renew passport" in document["content"]
    assert f"({len(document['content'].encode()):,} bytes)" in exported["reply"]


async def test_a_conversation(client):
    created = await say(client, "/todo buy milk !high #home")
    assert created["reply"] == "Todo #1: buy milk (!high, #home)"
    assert [e["type"] for e in created["events"]] == ["message.ingested", "todo.created"]
    assert created["replayed"] is False
    await say(client, "/todo call mum")

    listed = await say(client, "/todos")
    assert listed["reply"] == "Open todos (2):\n#1 buy milk - !high, #home\n#2 call mum"
    assert [e["type"] for e in listed["events"]] == ["message.ingested"]

    done = await say(client, "/done 1")
    assert done["reply"] == "Done: todo #1, buy milk"
    assert [e["type"] for e in done["events"]] == ["message.ingested", "todo.completed"]
    assert (await say(client, "/done 1"))["reply"] == "Todo 1 is already done."
    assert (await say(client, "/done 5"))["reply"] == "There is no todo 5."

    decided = await say(client, "/decide Use PostgreSQL because two writers")
    assert decided["reply"] == "Decision #1: Use PostgreSQL - because two writers"
    assert (await say(client, "/decisions"))["reply"] == (
        "Active decisions (1):\n#1 Use PostgreSQL - because two writers"
    )

    assert (await say(client, "/note wifi is on the router"))["reply"] == (
        "Note #1: wifi is on the router"
    )
    assert (await say(client, "/notes wifi"))["reply"] == (
        "Notes matching “wifi” (1):\n#1 wifi is on the router"
    )
    assert (await say(client, "/track running daily"))["reply"] == "Track #1: running (daily)"
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()  # the dev tier's zone is UTC
    assert (await say(client, "/tracks"))["reply"] == (
        f"Tracks (1):\n#1 running - daily, next check-in {day(tomorrow)}"
    )

    free = await say(client, "the garden needs water")
    assert free["reply"] == "Noted."
    prefixed = await say(client, "todo: water the garden")
    assert prefixed["reply"] == "Todo #3: water the garden"

    stats = (await say(client, "/stats"))["reply"].splitlines()
    assert stats[:4] == [
        "Todos: 2 open, 1 done, 0 cancelled",
        "Notes: 1",
        "Tracks: 1 active, 0 paused, 0 done",
        "Decisions: 1 active, 0 superseded, 0 revoked",
    ]
    assert "  message.ingested: 15" in stats
    assert (await say(client, "/help"))["reply"].startswith("Helionyx records")
    assert (await say(client, "/start@helionyx_bot"))["reply"].startswith("Hello!")


async def test_every_message_is_in_the_log_and_objects_link_to_it(client):
    body = await say(client, "/todo buy milk", channel="telegram", chat_id="42")
    message_seq, todo_seq = (e["seq"] for e in body["events"])
    message = (await client.get(f"/api/v1/events/{message_seq}")).json()
    assert message["payload"]["text"] == "/todo buy milk"
    assert message["payload"]["source"] == "telegram"
    assert message["payload"]["conversation_id"] == "42"
    assert message["metadata"]["command"] == "todo"
    created = (await client.get(f"/api/v1/events/{todo_seq}")).json()
    assert created["metadata"]["caused_by_seq"] == message_seq
    [todo] = (await client.get("/api/v1/todos")).json()["items"]
    assert todo["source_event_seq"] == message_seq


async def test_objects_made_by_conversation_are_the_objects_of_the_api(client):
    await say(client, "/todo pay rent 2026-12-01 !urgent #flat")
    over_http = await client.post(
        "/api/v1/todos",
        json={"title": "pay rent", "priority": "urgent", "due": "2026-12-01", "tags": ["flat"]},
    )
    assert over_http.status_code == 201

    first, second = (await client.get("/api/v1/todos")).json()["items"]
    differs = {"id", "number", "created_at", "updated_at", "source_event_seq"}
    assert {k: v for k, v in first.items() if k not in differs} == {
        k: v for k, v in second.items() if k not in differs
    }
    assert (await client.post("/api/v1/todos/2/complete")).status_code == 200
    assert (await say(client, "/todos done"))["reply"].startswith("Done todos (1):\n#2 pay rent")
    await client.post("/api/v1/decisions", json={"title": "Rent a flat", "rationale": "cheaper"})
    assert "#1 Rent a flat - because cheaper" in (await say(client, "/decisions"))["reply"]


async def test_an_external_id_makes_a_message_count_once(client):
    first = await say(client, "/todo buy milk", channel="telegram", external_id="update-1")
    again = await say(client, "/todo buy milk", channel="telegram", external_id="update-1")
    assert again["replayed"] is True
    assert (again["reply"], again["events"]) == (first["reply"], first["events"])
    assert len((await client.get("/api/v1/todos")).json()["items"]) == 1
    assert await event_count(client) == 2

    other = await say(client, "/todo buy bread", channel="telegram", external_id="update-1")
    assert "already used" in other["reply"] and other["events"] == []
    assert await event_count(client) == 2


async def test_long_lists_fit_one_reply(client):
    for i in range(40):
        await client.post("/api/v1/todos", json={"title": f"todo {i} " + "x" * 180})
    reply = (await say(client, "/todos"))["reply"]
    assert reply.startswith("Open todos (40):")
    assert reply.splitlines()[-1].startswith("… and ")


BAD_INTERACTIONS = [
    ("blank text", {"text": "  "}),
    ("no text", {"channel": "http"}),
    ("unknown field", {"text": "hi", "user": "me"}),
    ("bad channel", {"text": "hi", "channel": "Tele Gram"}),
    ("number as external id", {"text": "hi", "external_id": 5}),
    ("empty chat id", {"text": "hi", "chat_id": ""}),
    ("NUL in text", {"text": "a\u0000b"}),
]


@pytest.mark.parametrize(("name", "body"), BAD_INTERACTIONS, ids=[b[0] for b in BAD_INTERACTIONS])
async def test_bad_interactions_are_422_and_store_nothing(client, name, body):
    response = await client.post("/api/v1/interactions", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert await event_count(client) == 0


async def test_the_container_wires_the_llm_only_when_configured(sqlite_url):
    plain = build_container(make_settings(sqlite_url))
    llm = build_container(
        make_settings(
            sqlite_url,
            HELIONYX_LLM_BASE_URL="http://127.0.0.1:9/v1",
            HELIONYX_LLM_MODEL="m",
            HELIONYX_LLM_API_KEY="sk-x",
        )
    )
    try:
        assert isinstance(plain.extractor(), RulesExtractor)
        assert isinstance(llm.extractor(), OpenAICompatibleExtractor)
        assert plain.ingest_service()._extractor is plain.extractor()
    finally:
        await close_container(plain)
        await close_container(llm)


@pytest.fixture
async def llm_stub():
    async with LlmStub() as stub:
        yield stub


async def test_with_an_llm_unprefixed_text_derives_and_failures_fall_back(
    container, client, llm_stub
):
    llm = OpenAICompatibleExtractor(
        llm_stub.base_url, "sk-test", "stub-model", 5.0, RulesExtractor()
    )
    container.extractor.override(providers.Object(llm))
    try:
        llm_stub.respond_with_items(
            [
                {
                    "kind": "todo",
                    "title": "Call the bank",
                    "priority": "urgent",
                    "due": "2026-12-01",
                },
                {"kind": "note", "title": "Bank hours", "content": "9 to 5", "tags": ["bank"]},
            ]
        )
        answer = await say(client, "remind me to call the bank, they open 9 to 5")
        assert answer["reply"] == (
            "Todo #1: Call the bank (due Tue 2026-12-01, !urgent)\nNote #1: Bank hours"
        )
        for ref in answer["events"][1:]:
            event = (await client.get(f"/api/v1/events/{ref['seq']}")).json()
            assert event["metadata"] == {
                "caused_by_seq": answer["events"][0]["seq"],
                "extractor": "llm",
                "model": "stub-model",
            }
        ingested = await client.post("/api/v1/ingest/message", json={"text": "call the bank"})
        assert [d["type"] for d in ingested.json()["derived"]] == ["todo.created", "note.recorded"]
        assert len(llm_stub.requests) == 2

        # Commands and prefixed text never reach the model.
        await say(client, "/todo buy milk")
        await say(client, "/todos")
        llm_stub.respond_with_status(500)
        fallen = await say(client, "todo: pay rent")
        assert fallen["reply"] == "Todo #4: pay rent"
        assert len(llm_stub.requests) == 2
        derived = (await client.get(f"/api/v1/events/{fallen['events'][1]['seq']}")).json()
        assert derived["metadata"]["extractor"] == "rules"

        # A failing model (500): the message is recorded all the same, the rules answer.
        plain = await say(client, "what a day")
        assert plain["reply"] == "Noted."
        assert len(llm_stub.requests) == 3
        message = (await client.get(f"/api/v1/events/{plain['events'][0]['seq']}")).json()
        assert message["payload"]["text"] == "what a day"
    finally:
        container.extractor.reset_override()
        await llm.aclose()
