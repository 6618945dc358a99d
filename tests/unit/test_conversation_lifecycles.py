"""A day of real use through the conversation, in Europe/Berlin, on the in-memory fakes:
every change command, its refusals, undo, and replaying the log into the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.conversation import ConversationService
from domain.ingest import IngestService
from domain.projections import project_all
from domain.rules_extractor import RulesExtractor
from tests.fakes import FakeClock, InMemoryUnitOfWorkFactory
from tests.fakes_models import InMemoryReadModels

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def factory():
    # Sunday 2026-12-06, 22:30 UTC: 23:30 in Berlin.
    return InMemoryUnitOfWorkFactory(FakeClock(datetime(2026, 12, 6, 22, 30, tzinfo=UTC)))


@pytest.fixture
def chat(factory):
    ingest = IngestService(factory, RulesExtractor(), factory.clock, zone=BERLIN)
    conversation = ConversationService(factory, ingest, factory.clock, zone=BERLIN)

    async def say(text: str) -> str:
        answer = await conversation.handle(text, channel="telegram", chat_id="1")
        return answer.reply

    return say


def todos(factory):
    return {t.number: t for t in factory.state.todos.values()}


async def test_dates_are_the_owners_days_and_times(chat, factory):
    # "tomorrow 9am" at 23:30 on Sunday in Berlin is Monday 09:00 there, 08:00 UTC.
    assert await chat("/todo call the dentist tomorrow 9am") == (
        "Todo #1: call the dentist (due Mon 2026-12-07 09:00)"
    )
    todo = todos(factory)[1]
    assert todo.due == date(2026, 12, 7)
    assert todo.due_at == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
    factory.clock.advance(hours=1)  # 00:30 on Monday in Berlin, still Sunday in UTC
    assert await chat("/todo water the plants today") == (
        "Todo #2: water the plants (due Mon 2026-12-07)"
    )


async def test_a_date_word_not_understood_is_said(chat):
    reply = await chat("/todo book flights tommorow")
    assert reply.startswith("Todo #1: book flights tommorow")
    assert "I could not read “tommorow” as a date" in reply


async def test_edit_changes_only_what_the_text_states(chat, factory):
    await chat("/todo call the dentist next !low #health")
    assert await chat("/edit 1 call the dentist") == ("Changed todo #1: title “call the dentist”")
    assert await chat("/edit 1 friday 17:30 !high") == (
        "Changed todo #1: due Fri 2026-12-11 17:30; !high"
    )
    todo = todos(factory)[1]
    assert (todo.title, todo.priority, todo.tags) == ("call the dentist", "high", ("health",))
    assert await chat("/edit 1 friday 17:30") == ("Todo 1 already reads so; nothing changed.")
    assert await chat("/edit 1") == (
        "Usage: /edit <number> <text>, e.g. /edit 3 friday 17:30, or /edit note <number> <text>"
    )
    assert await chat("/edit 99 x") == "There is no todo 99."


async def test_cancel_reopen_and_refusals(chat, factory):
    await chat("/todo a")
    assert await chat("/cancel 1") == "Cancelled: todo #1, a"
    assert await chat("/done 1") == "Todo 1 is cancelled."
    assert await chat("/cancel 1") == "Todo 1 is already cancelled."
    assert await chat("/reopen 1") == "Reopened: todo #1, a"
    assert await chat("/done 1") == "Done: todo #1, a"
    assert await chat("/done 99999999999") == "There is no todo 99999999999."
    assert await chat("/cancel x") == "Usage: /cancel <number>, e.g. /cancel 3"
    events = [e.type for e in factory.state.events if e.type != "message.ingested"]
    assert events == ["todo.created", "todo.cancelled", "todo.reopened", "todo.completed"]
    assert await chat("/todos all") == "All todos (1):\n[done] #1 a - done 2026-12-06"


async def test_undo_reverses_the_last_changes_one_by_one(chat, factory):
    await chat("/todo buy milk")
    await chat("/done 1")
    await chat("/edit 1 buy oat milk")
    assert await chat("/undo") == (
        "Undone: the change to todo #1, buy oat milk; back to title “buy milk”"
    )
    assert await chat("/undo") == "Undone: todo #1, buy milk is open again"
    assert await chat("/undo") == "Undone: todo #1, buy milk is taken back (now cancelled)"
    assert await chat("/undo") == "There is nothing to undo."
    assert todos(factory)[1].status == "cancelled" and todos(factory)[1].title == "buy milk"


async def test_undo_reaches_back_fifteen_minutes(chat, factory):
    await chat("/todo a")
    factory.clock.advance(minutes=16)
    assert await chat("/undo") == (
        "The last change was 16 minutes ago; /undo reaches back 15 minutes."
    )
    assert todos(factory)[1].status == "open"


async def test_notes_edit_and_archive(chat, factory):
    await chat("/note the wifi password is on the router #home")
    assert await chat("/edit note 1 the wifi password changed") == (
        "Changed note #1: new text; title “the wifi password changed”"
    )
    assert await chat("/archive 1") == "Archived: note #1, the wifi password changed"
    assert await chat("/notes") == "No notes yet."
    assert await chat("/notes wifi") == "No notes match “wifi”."
    assert await chat("/archive 1") == "Note 1 is already archived."


async def test_tracks_check_in_by_number_or_name_with_a_streak(chat, factory):
    assert await chat("/track running every 2 days") == "Track #1: running (every 2 days)"
    assert await chat("/track Running") == "Already tracking running as #1."
    assert await chat("/checkin running 5 km easy") == (
        "Checked in: track #1, running (5 km easy)\n1 in a row; next check-in Tue 2026-12-08."
    )
    factory.clock.advance(days=2)
    assert await chat("/checkin 1") == (
        "Checked in: track #1, running\n2 in a row; next check-in Thu 2026-12-10."
    )
    assert await chat("/tracks") == (
        "Tracks (1):\n#1 running - every 2 days, last check-in Tue 2026-12-08, streak 2, "
        "next check-in Thu 2026-12-10"
    )
    # 23:30 and 00:30 in Berlin, one UTC day (22:30 and 23:30): the second is a new day.
    factory.clock.advance(hours=1)
    assert await chat("/checkin 1") == (
        "Checked in: track #1, running\n3 in a row; next check-in Fri 2026-12-11."
    )
    factory.clock.advance(hours=8)  # 08:30 on the same day in Berlin: no more in a row
    assert await chat("/checkin 1") == (
        "Checked in: track #1, running\n3 in a row; next check-in Fri 2026-12-11."
    )
    assert await chat("/checkin swimming") == ("There is no track named 'swimming'; see /tracks.")
    assert await chat("/pause 1") == "Paused: track #1, running"
    assert await chat("/checkin 1") == "Track 1 is paused."
    assert await chat("/resume 1") == "Resumed: track #1, running"
    assert await chat("/finish 1") == "Finished: track #1, running"
    assert len(factory.state.tracks) == 1


async def test_decisions_supersede_revoke_review(chat, factory):
    assert await chat("/decide use SQLite because one user review in 3 months") == (
        "Decision #1: use SQLite - because one user (review on Sat 2027-03-06)"
    )
    assert await chat("/supersede 1 use PostgreSQL because backups") == (
        "Decision #2: use PostgreSQL - because backups\nSuperseded: decision #1, use SQLite, by #2"
    )
    assert await chat("/supersede 1 use MySQL") == "Decision 1 is already superseded."
    assert await chat("/revoke 2 the project was dropped") == (
        "Revoked: decision #2, use PostgreSQL - because the project was dropped"
    )
    assert await chat("/supersede 2 x") == "Decision 2 is revoked."
    assert await chat("/outcome 1 fine for a year") == (
        "Outcome of decision #1, use SQLite: fine for a year"
    )
    assert (
        await chat("/decisions") == "No active decisions. Record one with /decide "
        "<title> because <rationale>."
    )
    assert await chat("/decisions all") == (
        "Decisions (2):\n"
        "#2 use PostgreSQL - because backups [revoked: the project was dropped]\n"
        "#1 use SQLite - because one user [superseded by #2] - outcome: fine for a year"
    )


async def test_replaying_the_day_gives_the_same_rows(chat, factory):
    for text in [
        "/todo a tomorrow 9am",
        "/edit 1 b friday",
        "/done 1",
        "/reopen 1",
        "/cancel 1",
        "/undo",
        "/note n",
        "/edit note 1 m",
        "/archive 1",
        "/track run",
        "/checkin run",
        "/pause 1",
        "/undo",
        "/decide d",
        "/supersede 1 e",
        "/revoke 2 no",
        "/outcome 1 ok",
        "/undo",
    ]:
        await chat(text)
    replayed = InMemoryReadModels()
    await project_all(factory.state.events, replayed)
    assert replayed.snapshot() == InMemoryReadModels(factory.state).snapshot()


async def test_reminders_answers_from_the_notification_service(factory):
    asked = []

    async def reminders(now: datetime) -> str:
        asked.append(now)
        return "Scheduled: nothing."

    ingest = IngestService(factory, RulesExtractor(), factory.clock, zone=BERLIN)
    with_bot = ConversationService(factory, ingest, factory.clock, zone=BERLIN, reminders=reminders)
    without = ConversationService(factory, ingest, factory.clock, zone=BERLIN)
    assert (await with_bot.handle("/reminders", channel="http")).reply == "Scheduled: nothing."
    assert asked == [factory.clock.now()]
    assert (await without.handle("/reminders", channel="http")).reply.startswith(
        "Reminders are off"
    )


async def test_today_and_week_read_the_agenda_in_the_owners_zone(chat, factory):
    await chat("/todo call the dentist tomorrow 9am")
    await chat("/todo pay rent today")
    today = await chat("/today")
    assert today.startswith("Today, Sun 2026-12-06") and "pay rent" in today
    assert "dentist" not in today
    week = await chat("/week")
    assert "dentist at 09:00" in week and "pay rent" in week


async def test_search_finds_objects_and_what_was_said_not_commands(chat):
    await chat("/note the wifi password is on the router #home")
    await chat("remember to change the wifi")
    await chat("/search wifi")
    found = await chat("/search wifi")
    assert found.startswith("Found 2 for “wifi”:\nnote #1 the wifi password is on the router")
    assert "message 3: remember to change the «wifi»" in found  # seq 2 is the note
    assert "/search" not in found and "#home #home" not in found
