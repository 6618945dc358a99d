"""The conversation on the in-memory fakes: every command, free text, replays and limits."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.conversation import ConversationService, parse
from domain.errors import StorageUnavailable
from domain.extraction import ExtractedNote, ExtractedTodo, Extraction
from domain.ingest import IngestService
from domain.replies import HELP, MAX_REPLY
from domain.rules_extractor import RulesExtractor
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()  # its clock says Thursday 2026-11-26, 09:00 UTC


def conversation_over(factory, extractor=None) -> ConversationService:
    ingest = IngestService(factory, extractor or RulesExtractor(), factory.clock)
    return ConversationService(factory, ingest, factory.clock)


@pytest.fixture
def conversation(factory):
    return conversation_over(factory)


async def say(conversation, text: str, **kwargs) -> str:
    answer = await conversation.handle(text, channel="telegram", chat_id="100", **kwargs)
    assert len(answer.reply) <= MAX_REPLY
    return answer.reply


def types(answer) -> list[str]:
    return [event.type for event in answer.events]


@pytest.mark.parametrize(
    ("text", "name", "argument"),
    [
        ("/todo buy milk", "todo", "buy milk"),
        ("  /TODOS@helionyx_bot  done ", "todos", "done"),
        ("/note line one\nline two", "note", "line one\nline two"),
        ("/help", "help", ""),
        ("todo: not a command", None, "todo: not a command"),
    ],
)
def test_parse(text, name, argument):
    command = parse(text)
    assert (command.name, command.argument) == (name, argument)


async def test_todo_is_recorded_as_the_owners_words_and_a_linked_todo(conversation, factory):
    answer = await conversation.handle(
        "/todo buy milk tomorrow !high #home", channel="telegram", chat_id="100"
    )

    assert answer.reply == "Todo #1: buy milk (due Fri 2026-11-27, !high, #home)"
    message, created = answer.events
    assert message.type == "message.ingested"
    assert message.payload["text"] == "/todo buy milk tomorrow !high #home"
    assert message.payload["source"] == "telegram"
    assert message.payload["conversation_id"] == "100"
    assert message.metadata["channel"] == "telegram" and message.metadata["command"] == "todo"
    assert created.type == "todo.created"
    assert created.metadata == {"caused_by_seq": message.seq, "extractor": "rules"}
    todo = factory.state.todos[created.aggregate_id]
    assert (todo.title, todo.priority, todo.tags) == ("buy milk", "high", ("home",))
    assert todo.due == date(2026, 11, 27) and todo.source_event_seq == message.seq


async def test_note_track_and_decide(conversation):
    assert await say(conversation, "/note wifi is on the router #home") == (
        "Note #1: wifi is on the router"
    )
    assert await say(conversation, "/track running every 3 days") == (
        "Track #1: running (every 3 days)"
    )
    assert await say(conversation, "/track journaling daily") == "Track #2: journaling (daily)"
    assert await say(conversation, "/decide Use PostgreSQL because two writers") == (
        "Decision #1: Use PostgreSQL - because two writers"
    )
    assert await say(conversation, "/decide Stay home") == "Decision #2: Stay home"


@pytest.mark.parametrize("command", ["todo", "note", "track", "decide"])
async def test_a_creating_command_without_text_explains_itself(conversation, factory, command):
    answer = await conversation.handle(f"/{command}", channel="telegram")
    assert answer.reply.startswith(f"Usage: /{command}")
    assert types(answer) == ["message.ingested"]  # the words are recorded all the same


async def test_todos_lists_open_ones_with_markers(conversation, factory):
    await say(conversation, "/todo buy milk tomorrow !high #home")
    await say(conversation, "/todo call mum")
    await say(conversation, "/todo pay rent 2026-11-01 !urgent")
    await say(conversation, "/done 2")

    assert await say(conversation, "/todos") == (
        "Open todos (2):\n"
        "#1 buy milk - due Fri 2026-11-27, !high, #home\n"
        "#3 pay rent - due Sun 2026-11-01 (overdue), !urgent"
    )
    assert await say(conversation, "/todos done") == (
        "Done todos (1):\n#2 call mum - done 2026-11-26"
    )
    everything = await say(conversation, "/todos all")
    assert everything.startswith("All todos (3):\n[open] #1 buy milk")
    assert "[done] #2 call mum" in everything
    assert await say(conversation, "/todos cancelled") == "No cancelled todos."
    assert (await say(conversation, "/todos later")).startswith("Usage: /todos")


async def test_done_confirms_or_explains(conversation, factory):
    await say(conversation, "/todo buy milk")

    answer = await conversation.handle("/done 1", channel="telegram")
    assert answer.reply == "Done: todo #1, buy milk"
    message, completed = answer.events
    assert completed.type == "todo.completed"
    assert completed.metadata["caused_by_seq"] == message.seq

    assert await say(conversation, "/done 1") == "Todo 1 is already done."
    assert await say(conversation, "/done 3") == "There is no todo 3."
    assert await say(conversation, "/done 99999999999999999999") == (
        "There is no todo 99999999999999999999."
    )
    assert (await say(conversation, "/done")).startswith("Usage: /done")
    assert (await say(conversation, "/done milk")).startswith("Usage: /done")
    assert await say(conversation, "/done #1") == "Todo 1 is already done."


async def test_notes_lists_and_searches(conversation):
    assert await say(conversation, "/notes") == "No notes yet."
    await say(conversation, "/note wifi password is on the router")
    await say(conversation, "/note dentist on Monday")
    assert await say(conversation, "/notes") == (
        "Notes (2):\n#2 dentist on Monday\n#1 wifi password is on the router"
    )
    assert await say(conversation, "/notes WIFI") == (
        "Notes matching “WIFI” (1):\n#1 wifi password is on the router"
    )
    assert await say(conversation, "/notes tax") == "No notes match “tax”."


async def test_tracks_and_decisions_lists(conversation):
    assert (await say(conversation, "/tracks")).startswith("No tracks yet.")
    assert (await say(conversation, "/decisions")).startswith("No active decisions.")
    await say(conversation, "/track running every 3 days")
    await say(conversation, "/decide Use SQLite because simple")
    await say(conversation, "/decide No meetings on Friday")
    assert await say(conversation, "/tracks") == (
        "Tracks (1):\n#1 running - every 3 days, next check-in Sun 2026-11-29"
    )
    assert await say(conversation, "/decisions") == (
        "Active decisions (2):\n#2 No meetings on Friday\n#1 Use SQLite - because simple"
    )


async def test_stats_counts_objects_and_events(conversation):
    await say(conversation, "/todo a")
    await say(conversation, "/todo b")
    await say(conversation, "/done 1")
    await say(conversation, "/note n")
    reply = await say(conversation, "/stats")
    assert reply.splitlines() == [
        "Todos: 1 open, 1 done, 0 cancelled",
        "Notes: 1",
        "Tracks: 0 active, 0 paused, 0 done",
        "Decisions: 0 active, 0 superseded, 0 revoked",
        "Events: 9",
        "  message.ingested: 5",
        "  note.recorded: 1",
        "  todo.completed: 1",
        "  todo.created: 2",
    ]


async def test_start_help_and_unknown_commands(conversation):
    start = await conversation.handle("/start", channel="telegram")
    assert start.reply.startswith("Hello!") and HELP in start.reply
    assert types(start) == ["message.ingested"]
    assert await say(conversation, "/help") == HELP
    assert await say(conversation, "/help@helionyx_bot") == HELP
    unknown = await say(conversation, "/frobnicate now")
    assert unknown == "I don't know /frobnicate. Send /help for the commands."


async def test_a_bot_username_suffix_is_accepted(conversation):
    assert await say(conversation, "/todo@helionyx_bot buy milk") == "Todo #1: buy milk"
    assert await say(conversation, "/todos@helionyx_bot") == "Open todos (1):\n#1 buy milk"


async def test_free_text_is_recorded_and_prefixes_derive(conversation, factory):
    plain = await conversation.handle("thinking about the garden", channel="telegram")
    assert plain.reply == "Noted."
    assert types(plain) == ["message.ingested"]
    assert "command" not in plain.events[0].metadata

    prefixed = await conversation.handle("todo: water the plants friday", channel="telegram")
    assert prefixed.reply == "Todo #1: water the plants (due Fri 2026-11-27)"
    assert types(prefixed) == ["message.ingested", "todo.created"]
    assert await say(conversation, "decide: Hire Ana because she ships") == (
        "Decision #1: Hire Ana - because she ships"
    )
    assert await say(conversation, "note: plant tomatoes in May") == (
        "Note #1: plant tomatoes in May"
    )
    assert await say(conversation, "track: guitar weekly") == "Track #1: guitar (weekly)"


async def test_free_text_goes_through_the_configured_extractor(factory):
    class Llm:
        def __init__(self) -> None:
            self.texts: list[str] = []

        async def extract(self, text: str, *, now: datetime) -> Extraction:
            self.texts.append(text)
            items = (ExtractedTodo("call the bank"), ExtractedNote("bank hours", "9 to 5"))
            return Extraction(items, extractor="llm", model="stub")

    llm = Llm()
    conversation = conversation_over(factory, llm)

    answer = await conversation.handle("remember the bank", channel="telegram")

    assert answer.reply == "Todo #1: call the bank\nNote #1: bank hours"
    assert all(e.metadata.get("extractor") == "llm" for e in answer.events[1:])
    # Commands are explicit: they never reach the extractor.
    await say(conversation, "/todo buy milk")
    await say(conversation, "/todos")
    assert llm.texts == ["remember the bank"]


async def test_a_redelivered_message_adds_nothing_and_gets_the_same_reply(conversation, factory):
    first = await conversation.handle("/todo buy milk", channel="telegram", external_id="u-1")
    again = await conversation.handle("/todo buy milk", channel="telegram", external_id="u-1")

    assert again.replayed and not first.replayed
    assert again.reply == first.reply == "Todo #1: buy milk"
    assert again.events == first.events
    assert len(factory.state.events) == 2 and len(factory.state.todos) == 1
    # The same update id on another channel is another message.
    other = await conversation.handle("/todo buy milk", channel="http", external_id="u-1")
    assert other.reply == "Todo #2: buy milk"


async def test_a_redelivered_done_is_not_applied_twice(conversation, factory):
    await say(conversation, "/todo buy milk")
    first = await conversation.handle("/done 1", channel="telegram", external_id="u-2")
    again = await conversation.handle("/done 1", channel="telegram", external_id="u-2")
    assert again.reply == first.reply == "Done: todo #1, buy milk"
    assert again.events == first.events

    failed = await conversation.handle("/done 7", channel="telegram", external_id="u-3")
    retried = await conversation.handle("/done 7", channel="telegram", external_id="u-3")
    assert failed.reply == "There is no todo 7."
    assert retried.reply == "Already recorded; nothing changed."
    assert len(factory.state.events) == 5


async def test_a_redelivered_query_is_answered_afresh_without_a_new_event(conversation, factory):
    await say(conversation, "/todos", external_id="u-4")
    await say(conversation, "/todo buy milk")
    count = len(factory.state.events)
    again = await conversation.handle(
        "/todos", channel="telegram", chat_id="100", external_id="u-4"
    )
    assert again.replayed and again.reply == "Open todos (1):\n#1 buy milk"
    assert len(factory.state.events) == count


async def test_a_redelivered_free_text_keeps_its_reply(conversation, factory):
    first = await say(conversation, "hello", external_id="u-5")
    assert await say(conversation, "hello", external_id="u-5") == first == "Noted."
    assert len(factory.state.events) == 1


async def test_a_reused_external_id_with_other_words_is_refused(conversation, factory):
    await say(conversation, "/todo buy milk", external_id="u-6")
    answer = await conversation.handle(
        "/todo buy bread", channel="telegram", chat_id="100", external_id="u-6"
    )
    assert "already used for a different message" in answer.reply
    assert answer.events == []
    assert len(factory.state.todos) == 1


async def test_blank_text_records_nothing(conversation, factory):
    answer = await conversation.handle("  \n ", channel="telegram")
    assert answer.reply and answer.events == []
    assert factory.state.events == []


async def test_long_lists_are_cut_to_fit_a_telegram_message(conversation, factory):
    titles = [f"todo number {i} " + "x" * 150 for i in range(1, 61)]
    async with factory(write=True) as uow:
        from domain.todos import create_todo

        for title in titles:
            await create_todo(uow, title=title)
        await uow.commit()

    reply = await say(conversation, "/todos")

    lines = reply.splitlines()
    assert lines[0] == "Open todos (60):"
    assert lines[1].startswith("#1 todo number 1 ")
    shown = len(lines) - 2
    assert 10 < shown < 60
    assert lines[-1] == f"… and {60 - shown} more"
    assert len(reply) <= MAX_REPLY


async def test_many_notes_found_by_search_are_cut_too(conversation, factory):
    async with factory(write=True) as uow:
        from domain.notes import record_note

        for i in range(300):
            await record_note(uow, title=f"garden note {i} " + "y" * 60)
        await uow.commit()
    reply = await say(conversation, "/notes garden")
    assert reply.startswith("Notes matching “garden” (300):")
    assert reply.splitlines()[-1].startswith("… and ")


async def test_an_outage_is_raised_not_answered(factory):
    class Down:
        def __call__(self, *, write: bool = False):
            raise StorageUnavailable("the database is not answering")

    down = Down()
    conversation = ConversationService(down, IngestService(down), factory.clock)
    with pytest.raises(StorageUnavailable):
        await conversation.handle("/todo x", channel="telegram")


@pytest.mark.parametrize("text", ["/todo milk\x00", "note: caf\ud800"])
async def test_text_no_store_can_hold_is_refused_with_the_reason(conversation, factory, text):
    answer = await conversation.handle(text, channel="telegram", chat_id="1")
    assert answer.reply.startswith("Nothing was recorded: text must")
    assert answer.events == []
    async with factory() as uow:
        assert (await uow.events.head()).last_seq == 0
