"""Migration 20261126_0005: the events table keeps every row and guard through its rebuild,
and the leaner indexes still serve every read (and still refuse a second idempotency key)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.event_log import EventLog
from domain.events import NewEvent
from domain.messages import MESSAGE_INGESTED
from infrastructure.database import create_engine
from infrastructure.migrate import downgrade, upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

BEFORE = "20261126_0004"
ALL_COLUMNS = (
    "seq, event_id, type, aggregate_type, aggregate_id, payload, metadata, "
    "idempotency_key, occurred_at, recorded_at, schema_version, prev_hash, hash"
)


async def append(engine: AsyncEngine, *events: NewEvent) -> None:
    async with SqlUnitOfWorkFactory(engine, FakeClock())(write=True) as uow:
        await uow.events.append(list(events))
        uow.events.appended = []  # type: ignore[attr-defined]  # no search index before 0009
        await uow.commit()


def message(n: int, key: str | None = None) -> NewEvent:
    return NewEvent(
        MESSAGE_INGESTED,
        "message",
        f"m{n}",
        {"text": f'say {n} "quoted"'},
        {"channel": "test"},
        idempotency_key=key,
    )


def todo(n: int) -> NewEvent:
    return NewEvent("todo.created", "todo", f"t{n}", {"title": f"todo {n}"})


async def all_rows(engine: AsyncEngine) -> list[tuple]:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT {ALL_COLUMNS} FROM events ORDER BY seq"))
        return [tuple(row) for row in result]


async def fails(engine: AsyncEngine, statement: str) -> Exception | None:
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    except Exception as e:  # the database's own refusal, whatever its driver calls it
        return e
    return None


@pytest.fixture
async def old_schema_engine(sqlite_url: str):
    """SQLite only: today's store writes payload and metadata as the TEXT of migration
    20261206_0006, which a PostgreSQL database at 0004 (JSONB) does not take; the way up
    from JSONB on PostgreSQL is tests/integration/test_migration_canonical_text.py."""
    engine = create_engine(sqlite_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_upgrading_keeps_every_row_and_the_chain_and_the_guards(old_schema_engine):
    engine = old_schema_engine
    await upgrade(engine, "dev", BEFORE)
    await append(engine, message(1, "key-1"), todo(2), message(3), message(4, "key-4"))
    before = await all_rows(engine)

    await upgrade(engine, "dev")

    assert await all_rows(engine) == before
    report = await EventLog(SqlUnitOfWorkFactory(engine, FakeClock())).verify()
    assert report.intact and report.count == 4
    assert await fails(engine, "UPDATE events SET type = 'x' WHERE seq = 1") is not None
    assert await fails(engine, "DELETE FROM events WHERE seq = 2") is not None
    assert await all_rows(engine) == before


async def test_downgrading_gives_the_old_constraints_back_with_the_rows(old_schema_engine):
    engine = old_schema_engine
    await upgrade(engine, "dev")
    await append(engine, message(1, "key-1"), todo(2))
    before = await all_rows(engine)

    await downgrade(engine, "dev", BEFORE)

    assert await all_rows(engine) == before
    copy_of_first_id = (
        f"INSERT INTO events ({ALL_COLUMNS}) SELECT 3, event_id, type, "
        "aggregate_type, aggregate_id, payload, metadata, NULL, occurred_at, "
        "recorded_at, schema_version, prev_hash, hash FROM events WHERE seq = 1"
    )
    assert await fails(engine, copy_of_first_id) is not None, "event_id is unique again"
    await upgrade(engine, "dev")
    assert await all_rows(engine) == before


async def test_an_idempotency_key_is_still_unique_and_many_events_have_none(engine):
    await upgrade(engine, "dev")
    await append(engine, message(1, "key-1"), message(2), message(3))

    reuse = (
        f"INSERT INTO events ({ALL_COLUMNS}) SELECT 4, event_id || '-2', type, "
        "aggregate_type, aggregate_id, payload, metadata, idempotency_key, occurred_at, "
        "recorded_at, schema_version, prev_hash, hash FROM events WHERE seq = 1"
    )
    assert await fails(engine, reuse) is not None
    assert len(await all_rows(engine)) == 3


async def test_counts_by_type_include_the_messages_the_sqlite_index_leaves_out(engine):
    await upgrade(engine, "dev")
    await append(engine, message(1), todo(2), message(3), todo(4), todo(5), message(6, "k"))

    async with SqlUnitOfWorkFactory(engine, FakeClock())() as uow:
        counts = await uow.events.count_by_type()
        todos = await uow.events.read(types=["todo.created"], limit=10)
        messages = await uow.events.read(types=[MESSAGE_INGESTED], limit=10)
        both = await uow.events.read(types=[MESSAGE_INGESTED, "todo.created"], after_seq=2)

    assert counts == {MESSAGE_INGESTED: 3, "todo.created": 3}
    assert [e.seq for e in todos] == [2, 4, 5]
    assert [e.seq for e in messages] == [1, 3, 6]
    assert [e.seq for e in both] == [3, 4, 5, 6]


async def test_reads_by_type_and_by_key_use_an_index_on_sqlite(tmp_path):
    # SQLite's partial indexes only serve queries that repeat their WHERE; PostgreSQL
    # keeps both indexes whole.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'plans.db'}")
    await upgrade(engine, "dev")
    plans = {
        "by type": "SELECT seq FROM events WHERE seq > 0 AND type IN ('todo.created') "
        "AND type <> 'message.ingested' ORDER BY seq LIMIT 10",
        "count by type": "SELECT type, count(*) FROM events "
        "WHERE type <> 'message.ingested' GROUP BY type",
        "by key": "SELECT seq FROM events WHERE idempotency_key = 'k'",
        "history": "SELECT seq FROM events WHERE aggregate_id = 'a' "
        "AND type <> 'message.ingested' ORDER BY seq LIMIT 200",
    }
    async with engine.connect() as conn:
        for name, query in plans.items():
            plan = " ".join(
                row[-1] for row in await conn.execute(text(f"EXPLAIN QUERY PLAN {query}"))
            )
            assert "USING" in plan and "INDEX" in plan, f"{name}: {plan}"
    await engine.dispose()
