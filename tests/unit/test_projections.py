from datetime import date

import pytest

from domain.decisions import record_decision, revoke_decision, supersede_decision
from domain.events import NewEvent
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.notes import record_note
from domain.projections import ProjectionError, project, project_all
from domain.todos import cancel_todo, complete_todo, create_todo, reopen_todo
from domain.tracks import check_in_track, finish_track, pause_track, resume_track, start_track
from tests.fakes import InMemoryUnitOfWorkFactory
from tests.fakes_models import InMemoryReadModels


async def run_mixed_scenario(factory: InMemoryUnitOfWorkFactory) -> None:
    clock = factory.clock
    message = await IngestService(factory).ingest(IncomingMessage("todo: buy milk"))
    async with factory(write=True) as uow:
        await create_todo(
            uow,
            title="buy milk",
            priority="high",
            due=date(2026, 12, 1),
            tags=("shop",),
            source_event_seq=message.event.seq,
        )
        await create_todo(uow, title="file taxes", description="before April")
        await record_note(uow, title="wifi", content="on the router", tags=["home"])
        await start_track(uow, title="running", check_in_every=3)
        await record_decision(uow, title="Use SQLite", options=["SQLite", "PostgreSQL"])
        await uow.commit()
    clock.advance(days=1)
    async with factory(write=True) as uow:
        await complete_todo(uow, 1)
        await check_in_track(uow, 1, note="5 km")
        await supersede_decision(uow, 1, title="Use PostgreSQL", rationale="two writers")
        await uow.commit()
    async with factory(write=True) as uow:
        await create_todo(uow, title="dropped by rollback")
        await cancel_todo(uow, 2)
    clock.advance(hours=5)
    async with factory(write=True) as uow:
        await reopen_todo(uow, 1)
        clock.advance(minutes=1)
        await complete_todo(uow, 1)
        await cancel_todo(uow, 2)
        await pause_track(uow, 1)
        await resume_track(uow, 1)
        await start_track(uow, title="guitar")
        await finish_track(uow, 2)
        await record_decision(uow, title="No meetings on Friday")
        await revoke_decision(uow, 3, reason="too strict")
        await record_note(uow, title="second note")
        await uow.commit()


async def test_rebuilding_from_the_log_gives_the_live_rows():
    factory = InMemoryUnitOfWorkFactory()
    await run_mixed_scenario(factory)
    live = InMemoryReadModels(factory.state)
    assert {kind: len(rows) for kind, rows in live.snapshot().items()} == {
        "todos": 2,
        "notes": 2,
        "tracks": 2,
        "decisions": 3,
    }

    rebuilt = InMemoryReadModels()
    async with factory() as uow:
        events = await uow.events.read(after_seq=0, limit=10_000)
    assert await project_all(events, rebuilt) == len(events)
    assert rebuilt.snapshot() == live.snapshot()

    # Later, with the clock elsewhere, a second rebuild is still identical.
    factory.clock.advance(days=400)
    again = InMemoryReadModels()
    await project_all(events, again)
    assert again.snapshot() == live.snapshot()


async def test_rebuilt_rows_keep_the_numbers_and_links():
    factory = InMemoryUnitOfWorkFactory()
    await run_mixed_scenario(factory)
    rebuilt = InMemoryReadModels()
    await project_all(factory.state.events, rebuilt)
    milk = await rebuilt.todos.get_by_number(1)
    assert (milk.title, milk.status, milk.source_event_seq) == ("buy milk", "done", 1)
    assert milk.completed_at == milk.updated_at > milk.created_at
    old, new = await rebuilt.decisions.get_by_number(1), await rebuilt.decisions.get_by_number(2)
    assert (old.superseded_by, new.supersedes) == (new.id, old.id)
    assert await rebuilt.todos.next_number() == 3


async def test_events_of_other_kinds_are_ignored():
    factory = InMemoryUnitOfWorkFactory()
    async with factory(write=True) as uow:
        [event] = await uow.events.append([NewEvent("notification.sent", "chat", "1", {})])
    models = InMemoryReadModels()
    await project(event, models)
    assert all(not rows for rows in models.snapshot().values())


@pytest.mark.parametrize(
    "event_type", ["todo.completed", "track.paused", "decision.revoked", "track.checked_in"]
)
async def test_an_event_for_an_object_never_created_is_a_projection_error(event_type):
    factory = InMemoryUnitOfWorkFactory()
    kind = event_type.split(".")[0]
    async with factory(write=True) as uow:
        [event] = await uow.events.append([NewEvent(event_type, kind, "ghost", {"number": 1})])
    with pytest.raises(ProjectionError, match="ghost"):
        await project(event, InMemoryReadModels())
