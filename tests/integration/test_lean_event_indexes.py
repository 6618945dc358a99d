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


# Each read as the stores spell it (with the partial indexes' WHERE), and the index it
# must be able to use.
PLANS = {
    "by type": (
        "SELECT seq FROM events WHERE seq > 0 AND type IN ('todo.created') "
        "AND type <> 'message.ingested' ORDER BY seq LIMIT 10",
        "ix_events_type_seq",
    ),
    "count by type": (
        "SELECT type, count(*) FROM events WHERE type <> 'message.ingested' GROUP BY type",
        "ix_events_type_seq",
    ),
    "by key": ("SELECT seq FROM events WHERE idempotency_key = 'k'", "ux_events_idempotency_key"),
    "history": (
        "SELECT seq FROM events WHERE aggregate_id = 'a' "
        "AND type <> 'message.ingested' ORDER BY seq LIMIT 200",
        "ix_events_aggregate_seq",
    ),
}
PARTIAL = {
    "ix_events_type_seq": "type <> 'message.ingested'",
    "ux_events_idempotency_key": "idempotency_key IS NOT NULL",
}


async def test_the_type_and_key_indexes_are_partial_and_serve_their_reads(engine):
    # Messages stay out of the type index, events without a key out of the key index
    # (migrations 20261126_0005 and 20261208_0011). A table this small would be scanned
    # whole anyway: on PostgreSQL scans are priced out to see whether an index can serve.
    await upgrade(engine, "dev")
    sqlite = engine.dialect.name == "sqlite"
    definitions = (
        "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        if sqlite
        else "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events'"
    )
    async with engine.connect() as conn:
        found = dict((await conn.execute(text(definitions))).all())
        for index, where in PARTIAL.items():
            # PostgreSQL spells it back with casts and parentheses: ((type)::text <> ...).
            spelled = " ".join(
                found[index].replace("::text", "").replace("(", " ").replace(")", " ").split()
            )
            assert f"WHERE {where}" in spelled, found[index]
        if not sqlite:
            await conn.execute(text("SET enable_seqscan = off"))
        explain = "EXPLAIN QUERY PLAN" if sqlite else "EXPLAIN"
        for name, (query, index) in PLANS.items():
            plan = " ".join(str(row[-1]) for row in await conn.execute(text(f"{explain} {query}")))
            assert index in plan, f"{name}: {plan}"


async def test_counts_by_type_of_an_empty_log_and_of_one_without_anything_but_messages(engine):
    await upgrade(engine, "dev")
    factory = SqlUnitOfWorkFactory(engine, FakeClock())
    async with factory() as uow:
        assert await uow.events.count_by_type() == {}
    await append(engine, message(1), message(2))
    async with factory() as uow:
        assert await uow.events.count_by_type() == {MESSAGE_INGESTED: 2}
