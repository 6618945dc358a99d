"""The SQLite unit of work begins on the driver: a writer's BEGIN IMMEDIATE and its read of
the chain head are one trip, and its held log and idempotency rows go with the COMMIT in
another. What must still hold: the head is read under the write lock
(another process may have appended since), leaving without commit stores nothing and
leaves the pooled connection clean, and what goes through SQLAlchemy commits with the
events."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from domain.errors import Conflict, StorageUnavailable
from domain.event_log import EventLog
from domain.events import LogHead, NewEvent
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.ports import IdempotencyRecord
from domain.rules_extractor import RulesExtractor
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock


def event(name: str) -> NewEvent:
    return NewEvent(
        type="test.happened", aggregate_type="test", aggregate_id=name, payload={"name": name}
    )


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "uow.db"


@pytest.fixture
async def factories(path: Path) -> AsyncIterator[list[SqlUnitOfWorkFactory]]:
    """Two engines on one file: two pools, as two processes would have."""
    engines = [create_engine(f"sqlite+aiosqlite:///{path}") for _ in range(2)]
    await upgrade(engines[0], "dev")
    try:
        yield [SqlUnitOfWorkFactory(engine, FakeClock()) for engine in engines]
    finally:
        for engine in engines:
            await engine.dispose()


async def append(factory: SqlUnitOfWorkFactory, name: str) -> int:
    async with factory(write=True) as uow:
        [recorded] = await uow.events.append([event(name)])
        await uow.commit()
    return recorded.seq


async def test_writers_in_two_pools_extend_one_chain(factories):
    first, second = factories
    assert [await append(first, "a"), await append(second, "b"), await append(first, "c")] == [
        1,
        2,
        3,
    ]
    # Concurrently: each writer reads the head only once it holds the lock.
    seqs = await asyncio.gather(*(append(factories[n % 2], f"n{n}") for n in range(20)))
    assert sorted(seqs) == list(range(4, 24))
    report = await EventLog(first).verify()
    assert report.intact and report.count == 23, report


async def test_a_writer_holds_the_write_lock_from_the_start(factories, path):
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        async with factories[0](write=True):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_leaving_without_commit_stores_nothing_and_leaves_the_connection_clean(factories):
    factory = factories[0]
    async with factory(write=True) as uow:
        await uow.events.append([event("dropped")])
    async with factory() as uow:
        assert await uow.events.read() == []
    for name in ("kept-1", "kept-2"):  # the same pooled connection, begun afresh
        await append(factory, name)
    async with factory() as uow:
        assert [e.payload["name"] for e in await uow.events.read()] == ["kept-1", "kept-2"]


async def test_read_models_written_through_sqlalchemy_commit_with_the_events(factories):
    factory = factories[0]
    service = IngestService(factory, RulesExtractor(), FakeClock())
    result = await service.ingest(IncomingMessage("todo: renew the passport"))
    assert [e.type for e in result.derived] == ["todo.created"]
    async with factory() as uow:
        assert [t.title for t in await uow.todos.list()] == ["renew the passport"]
        assert len(await uow.events.read()) == 2


async def test_writers_of_one_process_take_turns_without_waiting_on_sqlite(tmp_path):
    """Two write units of work at once: the second waits for the first in this process,
    holding no connection (not inside BEGIN IMMEDIATE, in SQLite's sleeping busy
    handler), then begins as the first ends and appends after it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    await upgrade(engine, "dev")
    factory = SqlUnitOfWorkFactory(engine, FakeClock())
    order: list[str] = []
    first_holds = asyncio.Event()

    async def first() -> None:
        async with factory(write=True) as uow:
            first_holds.set()
            await asyncio.sleep(0.2)  # the second is waiting by now
            assert engine.pool.checkedout() == 1, "the second writer took a connection"
            await uow.events.append([NewEvent("test.first", "test", "a", {})])
            await uow.commit()
            order.append("first committed")

    async def second() -> None:
        await first_holds.wait()
        async with factory(write=True) as uow:
            order.append("second began")
            [event] = await uow.events.append([NewEvent("test.second", "test", "b", {})])
            await uow.commit()
            assert event.seq == 2

    await asyncio.gather(first(), second())
    assert order == ["first committed", "second began"]
    await engine.dispose()


async def test_a_writer_that_fails_to_begin_lets_the_next_one_in(tmp_path):
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing' / 'no.db'}")
    factory = SqlUnitOfWorkFactory(engine, FakeClock())
    for _ in range(2):
        with pytest.raises(StorageUnavailable):
            async with factory(write=True):
                pass
    await engine.dispose()
    # aiosqlite stops the thread of a connect that failed without waiting for it; the
    # thread answers on this test's event loop, so it must end while the loop still runs.
    for thread in threading.enumerate():
        if thread.name.endswith("(_connection_worker_thread)"):
            await asyncio.to_thread(thread.join, 5)


async def test_a_writer_reads_what_it_has_appended_before_it_commits(factories, path):
    """Appended rows wait to be sent (infrastructure/sqlite/pending_rows.py); any read of
    the log or the idempotency records in the same transaction sees them first."""
    async with factories[0](write=True) as uow:
        [first, second] = await uow.events.append(
            [event("a"), NewEvent("test.happened", "test", "b", {}, idempotency_key="key-b")]
        )
        await uow.idempotency.add_many([IdempotencyRecord("key-b", second.seq, "hash-b")])
        assert await uow.events.head() == LogHead(2, second.hash)
        assert [e.seq for e in await uow.events.read()] == [1, 2]
        assert await uow.events.get_by_idempotency_key("key-b") == second
        assert await uow.idempotency.get_many(["key-b"]) == {
            "key-b": IdempotencyRecord("key-b", 2, "hash-b")
        }
        [third] = await uow.events.append([event("c")])  # held again, after the reads
        assert third.prev_hash == second.hash
        await uow.commit()
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT seq FROM events ORDER BY seq").fetchall() == [(1,), (2,), (3,)]
        assert other.execute("SELECT key FROM idempotency_records").fetchall() == [("key-b",)]
    assert (await EventLog(factories[0]).verify()).intact


async def test_the_held_rows_and_the_commit_go_to_the_driver_in_one_trip(factories):
    async with factories[0](write=True) as uow:
        driver = uow._driver
        trips: list[str] = []
        execute = driver._execute

        async def counted(fn, *args, **kwargs):
            trips.append(getattr(fn, "__name__", repr(fn)))
            return await execute(fn, *args, **kwargs)

        driver._execute = counted
        try:
            [recorded] = await uow.events.append([event("a")])
            await uow.idempotency.add_many([IdempotencyRecord("k", recorded.seq, "h")])
            assert trips == [], "appending sent rows before the commit"
            await uow.commit()
        finally:
            driver._execute = execute
    assert len(trips) == 1, trips
    async with factories[0]() as uow:
        assert [e.seq for e in await uow.events.read()] == [1]


async def test_a_key_already_taken_fails_the_commit_and_stores_nothing(factories):
    """The writer looks keys up under the lock, so this takes one skipping the lookup:
    the held rows are refused when sent, as Conflict, and the transaction stays whole."""
    factory = factories[0]
    keyed = NewEvent("test.happened", "test", "a", {}, idempotency_key="taken")
    async with factory(write=True) as uow:
        await uow.events.append([keyed])
        await uow.commit()
    with pytest.raises(Conflict):
        async with factory(write=True) as uow:
            await uow.events.append([event("before"), keyed])
            await uow.commit()
    assert await append(factory, "next") == 2
    async with factory() as uow:
        assert [e.aggregate_id for e in await uow.events.read()] == ["a", "next"]


async def test_held_rows_commit_after_a_statement_through_sqlalchemy(factories):
    """A list goes through SQLAlchemy, which then holds the transaction: the commit
    sends the held rows before SQLAlchemy's COMMIT."""
    async with factories[0](write=True) as uow:
        await uow.events.append([event("held")])
        assert await uow.todos.list() == []  # a Core select in the same transaction
        await uow.commit()
    async with factories[0]() as uow:
        assert [e.aggregate_id for e in await uow.events.read()] == ["held"]
