"""What infrastructure/postgres/pending_rows.py relies on: a write transaction's events,
idempotency records and messages' search rows are held until something reads them or the
transaction commits, then written into that transaction (one statement, or COPY from
COPY_FROM rows on); a rollback drops them; a unique key taken is still refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from domain.errors import Conflict
from domain.events import NewEvent
from domain.messages import MESSAGE_INGESTED
from domain.ports import IdempotencyRecord
from domain.search_index import Phrase, SearchQuery
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.postgres.driver import COPY_FROM, driver_of
from infrastructure.postgres.search import message_document
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

pytestmark = pytest.mark.postgres

COUNTS = text(
    "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM idempotency_records), "
    "(SELECT count(*) FROM search_messages)"
)


def message(n: int) -> NewEvent:
    return NewEvent(
        type=MESSAGE_INGESTED,
        aggregate_type="message",
        aggregate_id=f"m{n}",
        payload={"source": "http", "text": f"pending row number{n}"},
        metadata={},
    )


@pytest.fixture
async def factory(postgres_url) -> AsyncIterator[SqlUnitOfWorkFactory]:
    engine = create_engine(postgres_url)
    await upgrade(engine, "dev")
    try:
        yield SqlUnitOfWorkFactory(engine, FakeClock())
    finally:
        await engine.dispose()


async def counts_in(uow) -> tuple[int, int, int]:
    return tuple((await uow.connection.execute(COUNTS)).one())


async def counts(factory) -> tuple[int, int, int]:
    async with factory() as uow:
        return await counts_in(uow)


async def write(factory, count: int, key: str = "key") -> None:
    async with factory(write=True) as uow:
        recorded = await uow.events.append([message(n) for n in range(count)])
        await uow.idempotency.add_many(
            [IdempotencyRecord(f"{key}-{n}", e.seq, "0" * 64) for n, e in enumerate(recorded)]
        )
        await uow.commit()


async def test_a_driver_connection_only_once_a_statement_opened_the_transaction(factory):
    async with factory() as uow:  # a reader: SQLAlchemy's BEGIN is sent with its first statement
        assert await driver_of(uow.connection) is None
        assert await counts_in(uow) == (0, 0, 0)
        assert await driver_of(uow.connection) is not None


async def test_held_rows_are_read_back_in_their_transaction_and_dropped_by_a_rollback(factory):
    async with factory(write=True) as uow:
        recorded = await uow.events.append([message(1), message(2)])
        await uow.idempotency.add_many([IdempotencyRecord("k1", recorded[0].seq, "0" * 64)])
        assert await counts_in(uow) == (0, 0, 0)  # held, not yet sent
        assert await uow.events.get(recorded[1].seq) == recorded[1]  # a read writes them
        assert (await uow.idempotency.get("k1")).event_seq == recorded[0].seq
        assert (await uow.events.head()).last_seq == recorded[-1].seq
        assert await counts_in(uow) == (2, 1, 0)  # messages are indexed at the commit
        # No commit: the unit of work rolls back.
    assert await counts(factory) == (0, 0, 0)


@pytest.mark.parametrize("count", [3, COPY_FROM + 36])
async def test_a_commit_writes_the_events_their_records_and_search_rows(factory, count):
    await write(factory, count)
    assert await counts(factory) == (count, count, count)
    await write(factory, 1, key="more")  # the chain goes on from the held rows' head
    async with factory() as uow:
        events = await uow.events.read(limit=count + 10)
    assert [e.seq for e in events] == list(range(1, count + 2))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))


@pytest.mark.parametrize("count", [1, COPY_FROM])
async def test_a_key_taken_is_refused_at_the_commit_and_nothing_is_stored(factory, count):
    await write(factory, count)
    with pytest.raises(Conflict):
        await write(factory, count)  # the same keys again: key-0 ...
    assert await counts(factory) == (count, count, count)


async def test_keys_are_looked_up_as_many_as_asked_held_ones_included(factory):
    """One array parameter for every key: more keys than a statement may bind parameters
    (asyncpg: 32,767), some stored, some held in the transaction, most never used."""
    await write(factory, 3, key="stored")
    asked = [f"stored-{n}" for n in range(3)] + [f"unused-{n}" for n in range(40_000)]
    async with factory(write=True) as uow:
        [held] = await uow.events.append([message(9)])
        await uow.idempotency.add_many([IdempotencyRecord("held", held.seq, "1" * 64)])
        found = await uow.idempotency.get_many([*asked, "held", "stored-0"])
    assert sorted(found) == ["held", "stored-0", "stored-1", "stored-2"]
    assert found["held"] == IdempotencyRecord("held", held.seq, "1" * 64)
    assert found["stored-2"].request_hash == "0" * 64
    async with factory() as uow:  # a reader's lookup, the same statement
        assert sorted(await uow.idempotency.get_many(["stored-1", "held", "nope"])) == ["stored-1"]


def command(n: int) -> NewEvent:
    """A message the search does not index (domain/search_index.py `searchable_message`)."""
    event = message(n)
    return event._replace(payload={**event.payload, "text": f"/done {n}"})


async def test_a_copied_write_indexes_its_searchable_messages_only(factory):
    async with factory(write=True) as uow:
        await uow.events.append(
            [message(n) if n % 3 else command(n) for n in range(COPY_FROM + 36)]
        )
        await uow.commit()
    searchable = sum(1 for n in range(COPY_FROM + 36) if n % 3)
    assert await counts(factory) == (COPY_FROM + 36, 0, searchable)
    async with factory() as uow:
        found, total = await uow.search.find_messages(exactly("number7"), 0, 5)
        assert total == 1 and found[0].body == "pending row number7"
        assert (await uow.search.find_messages(exactly("done"), 0, 5))[1] == 0  # commands


def exactly(word: str) -> SearchQuery:
    return SearchQuery((Phrase((word,), prefix=False),))


def spelling_beside_the_copy(uow, calls: list[bool]) -> None:
    """The unit of work's held rows spell with `message_document`, noting each time whether
    a COPY of its rows is under way (a task of PendingRows._copies not done)."""
    pending = uow._pending

    def spell(said):
        calls.append(
            any(
                task.get_coro().__qualname__ == "PendingRows._copies" and not task.done()
                for task in asyncio.all_tasks()
            )
        )
        return message_document(said)

    pending._speller = spell


async def test_messages_are_spelled_while_the_copy_runs(factory):
    calls: list[bool] = []
    async with factory(write=True) as uow:
        spelling_beside_the_copy(uow, calls)
        await uow.events.append([message(n) for n in range(4 * COPY_FROM)])
        await uow.commit()
    assert len(calls) == 4 * COPY_FROM
    assert any(calls)  # the COPY was under way while messages were spelled
    assert await counts(factory) == (4 * COPY_FROM, 0, 4 * COPY_FROM)


async def test_a_small_write_spells_without_a_copy(factory):
    calls: list[bool] = []
    async with factory(write=True) as uow:
        spelling_beside_the_copy(uow, calls)
        await uow.events.append([message(n) for n in range(3)])
        await uow.commit()
    assert calls == [False, False, False]
    assert await counts(factory) == (3, 0, 3)


async def test_spelling_that_fails_stops_the_copy_and_stores_nothing(factory):
    async with factory(write=True) as uow:
        spelled = 0

        def failing(said):
            nonlocal spelled
            spelled += 1
            if spelled == COPY_FROM + 10:
                raise RuntimeError("spelling failed")
            return message_document(said)

        uow._pending._speller = failing
        await uow.events.append([message(n) for n in range(4 * COPY_FROM)])
        with pytest.raises(RuntimeError, match="spelling failed"):
            await uow.commit()
    assert await counts(factory) == (0, 0, 0)
    await write(factory, 2)  # the next writer's transaction is whole
    assert await counts(factory) == (2, 2, 2)
