"""What infrastructure/postgres/pending_rows.py relies on: a write transaction's events,
idempotency records and messages' search rows are held until something reads them or the
transaction commits, then written into that transaction (one statement, or COPY from
COPY_FROM rows on); a rollback drops them; a unique key taken is still refused."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from domain.errors import Conflict
from domain.events import NewEvent
from domain.messages import MESSAGE_INGESTED
from domain.ports import IdempotencyRecord
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.postgres.driver import COPY_FROM, driver_of
from infrastructure.postgres.pending_rows import PendingRows
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


async def test_documents_made_while_the_copy_runs_are_each_messages_own(factory):
    # More messages than one slice of documents (PendingRows._documents), so that the
    # COPY and the documents go on by turns.
    await write(factory, COPY_FROM * 3)
    async with factory() as uow:
        rows = await uow.connection.execute(
            text(
                "SELECT e.seq, e.payload, m.document::text FROM events AS e "
                "JOIN search_messages AS m ON m.seq = e.seq ORDER BY e.seq"
            )
        )
        stored = {seq: (json.loads(payload)["text"], document) for seq, payload, document in rows}
        for said, document in stored.values():
            made = await uow.connection.execute(
                text("SELECT CAST(:literal AS tsvector)::text"), {"literal": message_document(said)}
            )
            assert made.scalar_one() == document
    assert len(stored) == COPY_FROM * 3


def stored_rows(count: int) -> tuple[list[tuple[Any, ...]], list[tuple[int, str]]]:
    """Events' rows in EVENT_COLUMNS' order, and their messages' (seq, text)."""
    at = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    events = [
        (seq, f"e{seq}", MESSAGE_INGESTED, "message", f"m{seq}", "{}", "{}", None, at, at, 1)
        + ("0" * 64, "0" * 64)
        for seq in range(1, count + 1)
    ]
    return events, [(seq, f"pending row number{seq}") for seq in range(1, count + 1)]


async def test_a_write_cancelled_while_its_copy_runs_leaves_the_connection_usable(postgres_url):
    engine = create_engine(postgres_url)
    await upgrade(engine, "dev")
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))  # opens the transaction on the driver
            driver = await driver_of(conn)
            made = 0

            def document(said: str) -> str:
                nonlocal made
                made += 1
                if made == COPY_FROM:  # while the events' COPY runs
                    writing.cancel()
                return message_document(said)

            pending = PendingRows(driver, document)
            events, texts = stored_rows(COPY_FROM * 4)
            pending.add_events(events)
            pending.add_messages(texts)
            writing = asyncio.ensure_future(pending.write())
            with pytest.raises(asyncio.CancelledError):
                await writing
            assert made < len(texts)  # it stopped making documents at the cancel
            # Its COPY is over by the time it raised (asyncpg may still be sending the
            # server its own cancel request, in a task of its own): a COPY still running
            # would refuse the next statement ("another operation is in progress").
            copies = [
                task
                for task in asyncio.all_tasks()
                if task.get_coro().__qualname__ == "PendingRows._copy_many"  # type: ignore[union-attr]
            ]
            assert copies == []
            await conn.rollback()
            assert (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one() == 0
        async with SqlUnitOfWorkFactory(engine, FakeClock())() as uow:
            assert await counts_in(uow) == (0, 0, 0)
    finally:
        await engine.dispose()


async def test_a_writer_that_waited_for_the_lock_reads_the_head_committed_meanwhile(
    factory, postgres_url
):
    # A second engine: the writer of another process, with a queue of its own, so it
    # waits on the database's lock, where the head's read must come after the wait
    # (helionyx_write_lock, migration 20261208_0012), not from a snapshot taken before it.
    engine = create_engine(postgres_url)
    other = SqlUnitOfWorkFactory(engine, FakeClock())

    async def second() -> Any:
        async with other(write=True) as uow:
            [event] = await uow.events.append([message(2)])
            await uow.commit()
            return event

    try:
        async with factory(write=True) as uow:
            [first] = await uow.events.append([message(1)])
            waiting = asyncio.ensure_future(second())
            await asyncio.sleep(0.3)
            assert not waiting.done()  # held by the lock
            await uow.commit()
        after = await waiting
    finally:
        await engine.dispose()
    assert (after.seq, after.prev_hash) == (first.seq + 1, first.hash)
