"""Every lifecycle change on the in-memory fakes: edits, archive, check-ins and streaks,
reviews, and that replaying the log gives the same rows as the live path."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.decisions import record_decision, review_decision, revoke_decision
from domain.errors import Conflict, InvalidInput, NotFound
from domain.notes import archive_note, edit_note, page_notes, record_note
from domain.projections import project_all
from domain.todos import cancel_todo, complete_todo, create_todo, edit_todo, reopen_todo
from domain.tracks import check_in_track, find_active_by_name, start_track
from tests.fakes import InMemoryUnitOfWorkFactory
from tests.fakes_models import InMemoryReadModels

BERLIN_WINTER = timezone(timedelta(hours=1))


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
async def uow(factory):
    async with factory(write=True) as uow:
        yield uow


async def test_a_due_time_keeps_its_offset_and_its_local_day(uow):
    late = datetime(2026, 12, 7, 0, 30, tzinfo=BERLIN_WINTER)  # 23:30 UTC the day before
    todo, [event] = await create_todo(uow, title="call", due=late)
    assert event.payload["due"] == "2026-12-07T00:30:00+01:00"
    assert todo.due == date(2026, 12, 7)
    assert todo.due_at == datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize("due", ["2026-12-07T09:00", datetime(2026, 12, 7, 9)])
async def test_a_due_time_without_its_offset_is_refused(uow, due):
    with pytest.raises(InvalidInput, match="offset"):
        await create_todo(uow, title="call", due=due)


async def test_edit_changes_only_what_is_given_and_records_what_it_replaced(uow):
    todo, _ = await create_todo(uow, title="call the dentist next", priority="low", tags=["health"])
    due = datetime(2026, 12, 14, 9, tzinfo=BERLIN_WINTER)
    edited, [event] = await edit_todo(uow, todo.number, title="call the dentist", due=due)
    assert event.type == "todo.edited" and event.aggregate_id == todo.id
    assert event.payload["changes"] == {
        "title": "call the dentist",
        "due": "2026-12-14T09:00:00+01:00",
    }
    assert event.payload["before"] == {"title": "call the dentist next", "due": None}
    assert (edited.title, edited.priority, edited.tags) == ("call the dentist", "low", ("health",))
    assert edited.due == date(2026, 12, 14) and edited.due_at == due

    same, nothing = await edit_todo(uow, todo.number, due=due, title="call the dentist")
    assert nothing == [] and same == edited

    cleared, [event] = await edit_todo(uow, todo.number, due=None)
    assert event.payload["before"] == {"due": "2026-12-14T09:00:00+01:00"}
    assert (cleared.due, cleared.due_at) == (None, None)


async def test_edit_needs_something_to_change_and_an_existing_todo(uow):
    await create_todo(uow, title="t")
    with pytest.raises(InvalidInput):
        await edit_todo(uow, 1)
    with pytest.raises(NotFound, match="there is no todo 9"):
        await edit_todo(uow, 9, title="x")


async def test_todo_lifecycle_refusals(uow):
    await create_todo(uow, title="t")
    await cancel_todo(uow, 1)
    with pytest.raises(Conflict, match="todo 1 is cancelled"):
        await complete_todo(uow, 1)
    reopened, [event] = await reopen_todo(uow, 1)
    assert event.payload["from"] == "cancelled" and reopened.status == "open"


async def test_notes_edit_and_archive_leave_lists_and_search(uow):
    note, _ = await record_note(uow, title="wifi", content="wifi is on the router")
    edited, [event] = await edit_note(uow, note.number, content="wifi moved to the attic")
    assert event.payload["before"] == {"content": "wifi is on the router"}
    assert edited.content == "wifi moved to the attic"
    archived, [event] = await archive_note(uow, note.number)
    assert (event.type, archived.status) == ("note.archived", "archived")
    assert (await page_notes(uow)).items == []
    assert (await page_notes(uow, "attic")).items == []
    assert (await page_notes(uow, "attic", status="archived")).items == [archived]
    with pytest.raises(Conflict, match="already archived"):
        await archive_note(uow, note.number)


async def test_a_second_track_of_the_same_name_is_refused(uow):
    await start_track(uow, title="Running")
    with pytest.raises(Conflict, match="already tracking Running as #1"):
        await start_track(uow, title="  running ")
    assert len(await uow.events.read()) == 1
    assert (await find_active_by_name(uow, "running 5 km easy")).number == 1


async def test_check_ins_count_a_streak_that_a_long_gap_restarts(uow, factory):
    await start_track(uow, title="run", check_in_every=2)
    streaks = []
    for gap_days in (1, 3, 3, 5, 1):  # 3 is within 2 days and a day of grace; 5 is not
        factory.clock.advance(days=gap_days)
        track, _ = await check_in_track(uow, 1)
        streaks.append((track.check_ins, track.streak))
    assert streaks == [(1, 1), (2, 2), (3, 3), (4, 1), (5, 2)]
    assert track.last_check_in_at == factory.clock.now()


async def test_decisions_review_and_revoke_with_a_reason(uow):
    decision, [event] = await record_decision(uow, title="use postgres", review_on="2027-03-06")
    assert event.payload["review_on"] == "2027-03-06"
    assert decision.review_on == date(2027, 3, 6)
    reviewed, [event] = await review_decision(uow, 1, outcome=" worked well ")
    assert event.payload["before"] == {"outcome": None, "reviewed_at": None}
    assert (reviewed.outcome, reviewed.reviewed_at) == ("worked well", event.occurred_at)
    revoked, _ = await revoke_decision(uow, 1, reason="project dropped")
    assert (revoked.status, revoked.revoke_reason) == ("revoked", "project dropped")
    with pytest.raises(Conflict, match="already revoked"):
        await revoke_decision(uow, 1)
    with pytest.raises(InvalidInput):
        await review_decision(uow, 1, outcome="  ")


async def test_replaying_every_change_gives_the_same_rows(uow, factory):
    await create_todo(uow, title="a", due=datetime(2026, 12, 7, 9, tzinfo=BERLIN_WINTER))
    await edit_todo(uow, 1, title="b", tags=["x"], priority="high", due="2026-12-08")
    await complete_todo(uow, 1)
    await reopen_todo(uow, 1)
    await record_note(uow, title="n", content="c")
    await edit_note(uow, 1, title="m")
    await archive_note(uow, 1)
    await start_track(uow, title="run")
    factory.clock.advance(days=1)
    await check_in_track(uow, 1, note="5 km")
    await record_decision(uow, title="d1", review_on=date(2027, 1, 1))
    await record_decision(uow, title="d2", supersedes=1)
    await review_decision(uow, 1, outcome="fine")
    await revoke_decision(uow, 2, reason="why not")

    replayed = InMemoryReadModels()
    await project_all(await uow.events.read(limit=1000), replayed)
    live = {
        name: dict(getattr(uow, name).rows) for name in ("todos", "notes", "tracks", "decisions")
    }
    assert replayed.snapshot() == live


async def test_a_long_history_is_read_whole(uow, factory):
    from domain.changes import whole_history

    track, _ = await start_track(uow, title="run", check_in_every=1)
    for _ in range(1100):
        factory.clock.advance(days=1)
        await check_in_track(uow, 1)
    history = await whole_history(uow.events, track.id)
    assert len(history) == 1101 and history[-1].payload["before"]["check_ins"] == 1099
    assert [e.seq for e in history] == sorted(e.seq for e in history)


async def test_objects_from_an_old_message_keep_its_time(factory):
    from zoneinfo import ZoneInfo

    from domain.ingest import IngestService
    from domain.messages import IncomingMessage
    from domain.rules_extractor import RulesExtractor

    said = datetime(2024, 3, 9, 23, 30, tzinfo=UTC)  # Sunday 00:30 on the 10th in Berlin
    ingest = IngestService(factory, RulesExtractor(), factory.clock, zone=ZoneInfo("Europe/Berlin"))
    results = await ingest.ingest_batch(
        [
            IncomingMessage("decide: move to Berlin because the job", occurred_at=said),
            IncomingMessage("todo: sign the lease tomorrow 9am", occurred_at=said),
        ]
    )
    assert all(r.error is None for r in results)
    [decision] = factory.state.decisions.values()
    [todo] = factory.state.todos.values()
    assert decision.decided_at == said and todo.created_at == said
    # "tomorrow" was Monday 2024-03-11 where and when it was said: long overdue now.
    assert todo.due == date(2024, 3, 11)
    assert todo.due_at == datetime(2024, 3, 11, 8, tzinfo=UTC)
