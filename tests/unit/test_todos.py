from datetime import date

import pytest

from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import NewEvent
from domain.todo_filter import TodoFilter
from domain.todos import (
    cancel_todo,
    complete_todo,
    create_todo,
    get_todo,
    page_todos,
    reopen_todo,
)
from tests.fakes import InMemoryUnitOfWorkFactory


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
async def uow(factory):
    async with factory(write=True) as uow:
        yield uow


async def test_create_records_one_event_and_an_open_todo(uow, factory):
    todo, [event] = await create_todo(
        uow,
        title="  Buy milk ",
        description="semi-skimmed",
        priority="High",
        due=date(2026, 12, 1),
        tags=["home", " home", "", "shop"],
        metadata={"channel": "telegram"},
    )
    assert event.type == "todo.created"
    assert (event.aggregate_type, event.aggregate_id) == ("todo", todo.id)
    assert event.payload == {
        "number": 1,
        "title": "Buy milk",
        "description": "semi-skimmed",
        "priority": "high",
        "due": "2026-12-01",
        "tags": ["home", "shop"],
        "source_event_seq": None,
    }
    assert event.metadata == {"channel": "telegram"}
    assert todo.number == 1
    assert todo.status == "open"
    assert todo.due == date(2026, 12, 1)
    assert todo.tags == ("home", "shop")
    assert todo.created_at == todo.updated_at == factory.clock.now()
    assert todo.completed_at is None
    assert todo.source_event_seq == event.seq
    assert await uow.todos.get(todo.id) == todo


async def test_numbers_count_up_and_the_source_message_is_linked(uow):
    [message] = await uow.events.append(
        [NewEvent("message.ingested", "message", "m1", {"text": "todo: call mum"})]
    )
    first, _ = await create_todo(uow, title="one")
    second, _ = await create_todo(uow, title="call mum", source_event_seq=message.seq)
    assert (first.number, second.number) == (1, 2)
    assert second.source_event_seq == message.seq
    assert await get_todo(uow, 2) == second
    assert await get_todo(uow, "2") == second
    assert await get_todo(uow, second.id) == second


async def test_defaults_and_due_as_iso_text(uow):
    todo, _ = await create_todo(uow, title="t", priority=None, due="2027-01-02", tags=None)
    assert (todo.priority, todo.due, todo.tags, todo.description) == (
        "normal",
        date(2027, 1, 2),
        (),
        None,
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"title": ""},
        {"title": "   "},
        {"title": None},
        {"title": "t", "priority": "someday"},
        {"title": "t", "due": "next week"},
        {"title": "t", "tags": [3]},
        {"title": "t", "source_event_seq": 0},
    ],
)
async def test_bad_input_is_refused_and_nothing_is_recorded(uow, kwargs):
    with pytest.raises(InvalidInput):
        await create_todo(uow, **kwargs)
    assert (await uow.events.head()).last_seq == 0


async def test_complete_then_reopen_then_cancel(uow, factory):
    todo, _ = await create_todo(uow, title="t")
    factory.clock.advance(hours=1)
    done, [completed] = await complete_todo(uow, 1)
    assert completed.type == "todo.completed"
    assert completed.aggregate_id == todo.id
    assert completed.payload == {"number": 1, "title": "t", "from": "open"}
    assert done.status == "done"
    assert done.completed_at == done.updated_at == factory.clock.now()
    assert done.created_at == todo.created_at

    factory.clock.advance(hours=1)
    reopened, [event] = await reopen_todo(uow, todo.id)
    assert event.type == "todo.reopened"
    assert (reopened.status, reopened.completed_at) == ("open", None)
    assert reopened.updated_at == factory.clock.now()

    cancelled, [event] = await cancel_todo(uow, "1")
    assert event.type == "todo.cancelled"
    assert (cancelled.status, cancelled.completed_at) == ("cancelled", None)

    reopened, _ = await reopen_todo(uow, 1)
    assert reopened.status == "open"


@pytest.mark.parametrize(
    ("setup", "move", "message"),
    [
        (complete_todo, complete_todo, "todo 1 is already done"),
        (cancel_todo, complete_todo, "todo 1 is cancelled"),
        (None, reopen_todo, "todo 1 is already open"),
        (cancel_todo, cancel_todo, "todo 1 is already cancelled"),
        (complete_todo, cancel_todo, "todo 1 is done"),
    ],
)
async def test_invalid_transitions_conflict_and_record_nothing(uow, setup, move, message):
    await create_todo(uow, title="t")
    if setup:
        await setup(uow, 1)
    seq = (await uow.events.head()).last_seq
    with pytest.raises(Conflict, match=message):
        await move(uow, 1)
    assert (await uow.events.head()).last_seq == seq


@pytest.mark.parametrize("ref", [9, "9", "no-such-id"])
async def test_unknown_todo_is_not_found(uow, ref):
    await create_todo(uow, title="t")
    with pytest.raises(NotFound, match=f"there is no todo {ref}"):
        await complete_todo(uow, ref)


async def test_listing_and_counting(uow):
    for title in ("a", "b", "c"):
        await create_todo(uow, title=title)
    await complete_todo(uow, 2)

    async def titles(status, limit=100):
        page = await page_todos(uow, TodoFilter.asked(status), limit=limit)
        return [t.title for t in page.items], page.total

    assert await titles("open") == (["a", "c"], 2)
    assert await titles("done") == (["b"], 1)
    assert await titles("all") == (["a", "b", "c"], 3)
    assert await titles(None, limit=2) == (["a", "b"], 3)
    assert await uow.todos.count_by_status() == {"open": 2, "done": 1, "cancelled": 0}
    with pytest.raises(InvalidInput):
        await titles("finished")


async def test_rows_and_events_commit_together_or_not_at_all(factory):
    async with factory(write=True) as uow:
        await create_todo(uow, title="kept")
        await uow.commit()
    async with factory(write=True) as uow:
        await create_todo(uow, title="dropped")
    assert [t.title for t in factory.state.todos.values()] == ["kept"]
    assert [e.type for e in factory.state.events] == ["todo.created"]
    async with factory() as uow:
        assert await uow.todos.next_number() == 2
