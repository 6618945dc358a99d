"""One contract, three stores: the in-memory fake, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.chain import GENESIS_HASH, hash_of
from domain.errors import Conflict
from domain.event_log import EventLog
from domain.events import NewEvent
from domain.ports import UnitOfWorkFactory
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_admin_url
from tests.fakes import FakeClock, InMemoryUnitOfWorkFactory


def event(n: int, key: str | None = None) -> NewEvent:
    return NewEvent(
        type="test.happened",
        aggregate_type="test",
        aggregate_id=f"a{n}",
        payload={"n": n, "text": f"ünïcode {n}", "nested": {"list": [1, 2.5]}},
        metadata={"source": "contract"},
        idempotency_key=key,
    )


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def uow_factory(request, tmp_path) -> AsyncIterator[UnitOfWorkFactory]:
    if request.param == "memory":
        yield InMemoryUnitOfWorkFactory()
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'contract.db'}"
    else:
        if not postgres_admin_url():
            pytest.skip("PostgreSQL not configured: set HELIONYX_TEST_POSTGRES_URL")
        url = await create_postgres_database()
    engine = create_engine(url)
    await upgrade(engine, "dev")
    try:
        yield SqlUnitOfWorkFactory(engine, FakeClock())
    finally:
        await engine.dispose()
        if request.param == "postgres":
            await drop_postgres_database(url)


async def append(factory: UnitOfWorkFactory, *events: NewEvent):
    async with factory(write=True) as uow:
        recorded = await uow.events.append(list(events))
        await uow.commit()
    return recorded


async def all_events(factory: UnitOfWorkFactory):
    async with factory() as uow:
        return await uow.events.read(after_seq=0, limit=100_000)


async def test_empty_log_has_genesis_head(uow_factory):
    async with uow_factory() as uow:
        head = await uow.events.head()
    assert (head.last_seq, head.last_hash, head.count) == (0, GENESIS_HASH, 0)


async def test_seq_is_gap_free_and_the_chain_links(uow_factory):
    await append(uow_factory, event(1))
    await append(uow_factory, event(2), event(3), event(4))
    events = await all_events(uow_factory)
    assert [e.seq for e in events] == [1, 2, 3, 4]
    assert events[0].prev_hash == GENESIS_HASH
    for before, after in zip(events, events[1:], strict=False):
        assert after.prev_hash == before.hash
    assert all(hash_of(e) == e.hash for e in events)
    report = await EventLog(uow_factory).verify()
    assert report.intact and report.count == 4 and report.head_hash == events[-1].hash


async def test_what_is_read_back_equals_what_was_appended(uow_factory):
    [written] = await append(uow_factory, event(7, key="k-7"))
    async with uow_factory() as uow:
        by_seq = await uow.events.get(written.seq)
        by_key = await uow.events.get_by_idempotency_key("k-7")
    assert by_seq == written == by_key
    assert by_seq.recorded_at.tzinfo is not None


async def test_a_time_in_another_zone_is_stored_and_hashed_as_the_same_moment(uow_factory):
    berlin = timezone(timedelta(hours=1))
    said = datetime(2024, 5, 29, 18, 26, 50, 500000, tzinfo=berlin)
    recorded = await append(
        uow_factory,
        event(1)._replace(occurred_at=said),
        event(2)._replace(occurred_at=said.astimezone(UTC)),
    )
    stored = await all_events(uow_factory)
    assert stored == recorded
    assert stored[0].occurred_at == stored[1].occurred_at == said
    assert all(hash_of(e) == e.hash for e in stored)
    assert (await EventLog(uow_factory).verify()).intact


async def test_rolled_back_append_leaves_no_trace(uow_factory):
    async with uow_factory(write=True) as uow:
        await uow.events.append([event(1)])
        # leaving without commit rolls back
    await append(uow_factory, event(2))
    events = await all_events(uow_factory)
    assert [(e.seq, e.payload["n"]) for e in events] == [(1, 2)]


async def test_an_idempotency_key_is_recorded_once(uow_factory):
    await append(uow_factory, event(1, key="same"))
    with pytest.raises(Conflict):
        await append(uow_factory, event(2, key="same"))
    assert len(await all_events(uow_factory)) == 1


async def test_read_filters_by_type_and_pages_by_seq(uow_factory):
    other = NewEvent(type="other.happened", aggregate_type="test", aggregate_id="x", payload={})
    await append(uow_factory, event(1), other, event(2), other, event(3))
    async with uow_factory() as uow:
        typed = await uow.events.read(types=["test.happened"])
        page = await uow.events.read(after_seq=2, limit=2)
    assert [e.seq for e in typed] == [1, 3, 5]
    assert [e.seq for e in page] == [3, 4]


async def test_history_is_one_objects_events_in_seq_order_without_messages(uow_factory):
    about = [
        NewEvent(type=t, aggregate_type="todo", aggregate_id=a, payload={"n": i})
        for i, (t, a) in enumerate(
            [
                ("todo.created", "t1"),
                ("todo.created", "t2"),
                ("message.ingested", "t1"),
                ("todo.edited", "t1"),
                ("todo.completed", "t1"),
            ]
        )
    ]
    await append(uow_factory, *about)
    async with uow_factory() as uow:
        history = await uow.events.history("t1")
        first = await uow.events.history("t1", limit=1)
        assert await uow.events.history("nobody") == []
    assert [(e.seq, e.type) for e in history] == [
        (1, "todo.created"),
        (4, "todo.edited"),
        (5, "todo.completed"),
    ]
    assert [e.seq for e in first] == [1]


async def test_a_large_append_reads_back_as_written_and_verifies(uow_factory):
    """Large enough to take PostgreSQL's COPY path (infrastructure/postgres/copy.py),
    after a small one that takes the INSERT; both in one chain."""
    berlin = timezone(timedelta(hours=1))
    await append(uow_factory, event(0))
    big = [
        event(n, key=f"big-{n}")._replace(
            occurred_at=datetime(2026, 12, 7, 9, n % 60, tzinfo=berlin)
        )
        for n in range(1, 201)
    ]
    recorded = await append(uow_factory, *big)
    stored = await all_events(uow_factory)
    assert stored[1:] == recorded and [e.seq for e in stored] == list(range(1, 202))
    assert all(hash_of(e) == e.hash for e in stored)
    assert (await EventLog(uow_factory).verify()).intact
    async with uow_factory() as uow:
        assert (await uow.events.get_by_idempotency_key("big-150")).seq == 151


async def test_a_large_append_with_a_key_taken_is_a_conflict_and_stores_nothing(uow_factory):
    await append(uow_factory, event(0, key="taken"))
    with pytest.raises(Conflict):
        await append(
            uow_factory, *[event(n, key="taken" if n == 99 else f"k-{n}") for n in range(1, 101)]
        )
    assert [e.seq for e in await all_events(uow_factory)] == [1]
    await append(uow_factory, *[event(n) for n in range(1, 101)])
    assert (await EventLog(uow_factory).verify()).intact


async def test_concurrent_appends_never_fork_the_chain(uow_factory):
    async def writer(n: int) -> None:
        for i in range(5):
            await append(uow_factory, event(n * 100 + i))

    await asyncio.gather(*(writer(n) for n in range(20)))
    events = await all_events(uow_factory)
    assert [e.seq for e in events] == list(range(1, 101))
    assert (await EventLog(uow_factory).verify()).intact


@pytest.mark.postgres
async def test_two_engines_on_one_postgres_database_keep_one_chain():
    """Two engines stand for two service processes writing to the same database."""
    if not postgres_admin_url():
        pytest.skip("PostgreSQL not configured: set HELIONYX_TEST_POSTGRES_URL")
    url = await create_postgres_database()
    engines = [create_engine(url, pool_size=10) for _ in range(2)]
    try:
        await upgrade(engines[0], "dev")
        factories = [SqlUnitOfWorkFactory(engine, FakeClock()) for engine in engines]

        async def writer(factory, n: int) -> None:
            for i in range(10):
                await append(factory, event(n * 1000 + i), event(n * 1000 + i + 500))

        await asyncio.gather(*(writer(factories[n % 2], n) for n in range(16)))
        events = await all_events(factories[0])
        assert [e.seq for e in events] == list(range(1, 321))
        assert (await EventLog(factories[1]).verify()).intact
    finally:
        for engine in engines:
            await engine.dispose()
        await drop_postgres_database(url)
