"""The database itself refuses to change or remove recorded events (append-only), whoever
asks: raw SQL bypassing our code hits the triggers the migrations install."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.event_log import EventLog
from domain.events import NewEvent
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

COLUMNS = (
    "seq, event_id, type, aggregate_type, aggregate_id, payload, metadata, "
    "idempotency_key, occurred_at, recorded_at, schema_version, prev_hash, hash"
)


async def engine_with_events(url: str) -> tuple[AsyncEngine, SqlUnitOfWorkFactory]:
    engine = create_engine(url)
    await upgrade(engine, "dev")
    factory = SqlUnitOfWorkFactory(engine, FakeClock())
    for n in (1, 2):
        async with factory(write=True) as uow:
            await uow.events.append(
                [
                    NewEvent(
                        type="todo.created",
                        aggregate_type="todo",
                        aggregate_id=f"t{n}",
                        payload={"title": f"todo {n}"},
                        metadata={"source": "test"},
                        idempotency_key=f"key-{n}",
                    )
                ]
            )
            await uow.commit()
    return engine, factory


@pytest.fixture
async def log(database_url: str) -> AsyncIterator[tuple[AsyncEngine, SqlUnitOfWorkFactory]]:
    engine, factory = await engine_with_events(database_url)
    try:
        yield engine, factory
    finally:
        await engine.dispose()


@pytest.fixture
async def sqlite_log(sqlite_url: str) -> AsyncIterator[tuple[AsyncEngine, SqlUnitOfWorkFactory]]:
    engine, factory = await engine_with_events(sqlite_url)
    try:
        yield engine, factory
    finally:
        await engine.dispose()


@pytest.fixture
async def postgres_log(
    postgres_url: str,
) -> AsyncIterator[tuple[AsyncEngine, SqlUnitOfWorkFactory]]:
    engine, factory = await engine_with_events(postgres_url)
    try:
        yield engine, factory
    finally:
        await engine.dispose()


async def stored(engine: AsyncEngine) -> list[tuple]:
    async with engine.connect() as conn:
        result = await conn.execute(text(f"SELECT {COLUMNS} FROM events ORDER BY seq"))
        return [tuple(row) for row in result.all()]


async def attempt(engine: AsyncEngine, statement: str) -> DBAPIError | None:
    """Run `statement` in its own transaction; the database error, or None if it went in."""
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement))
    except DBAPIError as e:
        return e
    return None


async def assert_refused_and_unchanged(log, *statements: str) -> None:
    """Each statement, in its own transaction, fails with the trigger's message and leaves
    every recorded event as it was."""
    engine, factory = log
    before = await stored(engine)
    assert len(before) == 2

    for statement in statements:
        error = await attempt(engine, statement)

        assert error is not None, f"the database accepted: {statement}"
        assert "append-only" in str(error), (statement, str(error))
        assert await stored(engine) == before, f"changed by: {statement}"
    report = await EventLog(factory).verify()
    assert report.intact and report.count == 2


async def test_update_is_refused(log):
    await assert_refused_and_unchanged(
        log,
        "UPDATE events SET type = 'todo.deleted'",
        "UPDATE events SET payload = metadata WHERE seq = 1",
        "UPDATE events SET hash = prev_hash WHERE seq = 2",
        "UPDATE events SET seq = seq + 10",
    )


async def test_delete_is_refused(log):
    await assert_refused_and_unchanged(
        log, "DELETE FROM events WHERE seq = 2", "DELETE FROM events"
    )


async def test_an_upsert_onto_a_recorded_event_is_refused(log):
    # ON CONFLICT DO UPDATE is an UPDATE of the recorded row, on both databases.
    await assert_refused_and_unchanged(
        log,
        f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events WHERE seq = 1 "
        "ON CONFLICT (seq) DO UPDATE SET type = 'todo.deleted'",
    )


@pytest.mark.postgres
async def test_truncate_is_refused_on_postgresql(postgres_log):
    await assert_refused_and_unchanged(
        postgres_log, "TRUNCATE events", "TRUNCATE TABLE events RESTART IDENTITY CASCADE"
    )


@pytest.mark.parametrize(
    "statement",
    [
        # Same key, other content: REPLACE deletes the recorded row and inserts the new one.
        f"INSERT OR REPLACE INTO events ({COLUMNS}) SELECT seq, event_id, 'todo.deleted', "
        "aggregate_type, aggregate_id, payload, metadata, idempotency_key, occurred_at, "
        "recorded_at, schema_version, prev_hash, hash FROM events WHERE seq = 1",
        # A new seq reusing event 1's idempotency key: REPLACE silently deletes event 1.
        f"REPLACE INTO events ({COLUMNS}) SELECT 3, 'replaced-event-id', type, aggregate_type, "
        "aggregate_id, payload, metadata, idempotency_key, occurred_at, recorded_at, "
        "schema_version, prev_hash, hash FROM events WHERE seq = 1",
    ],
    ids=["same-seq", "same-idempotency-key"],
)
async def test_sqlite_replace_cannot_overwrite_or_remove_an_event(sqlite_log, statement):
    engine, _ = sqlite_log
    before = await stored(engine)

    error = await attempt(engine, statement)
    after = await stored(engine)

    assert error is not None and after == before, (
        "BUG migrations/versions/20261126_0001_event_log.py: SQLite's REPLACE conflict "
        "resolution deletes the recorded row without firing events_reject_delete "
        "(delete triggers fire on REPLACE only with PRAGMA recursive_triggers=ON), so the "
        f"append-only guard is bypassed. before={[r[:3] for r in before]} "
        f"after={[r[:3] for r in after]}"
    )
    assert "append-only" in str(error)
