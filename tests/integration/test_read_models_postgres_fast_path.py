"""The read models' PostgreSQL fast path (infrastructure/postgres/read_models.py), which a
write transaction uses, against the SQLAlchemy Core path a read transaction uses: the
same stored values, rows that read the same whichever path wrote them, the same errors,
and the writer's unit of work on the fast path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import Conflict
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.postgres.driver import driver_of
from infrastructure.postgres.read_models import (
    PostgresDecisions,
    PostgresNotes,
    PostgresTodos,
    PostgresTracks,
)
from infrastructure.read_models import CoreDecisions, CoreNotes, CoreTodos, CoreTracks
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import fresh_postgres_database
from tests.fakes import FakeClock
from tests.integration.test_read_models import READ_MODEL_TABLES, todo
from tests.integration.test_read_models_sqlite_fast_path import ADDED, UPDATED

pytestmark = pytest.mark.postgres

FAST = {
    "todos": PostgresTodos,
    "notes": PostgresNotes,
    "tracks": PostgresTracks,
    "decisions": PostgresDecisions,
}
CORE = {"todos": CoreTodos, "notes": CoreNotes, "tracks": CoreTracks, "decisions": CoreDecisions}


@pytest.fixture
async def engines() -> AsyncIterator[dict[str, tuple[str, AsyncEngine]]]:
    """Two databases at the latest schema: one written on the fast path, one through Core."""
    async with fresh_postgres_database() as fast, fresh_postgres_database() as core:
        made = {"fast": (fast, create_engine(fast)), "core": (core, create_engine(core))}
        try:
            for _, engine in made.values():
                await upgrade(engine, "dev")
            yield made
        finally:
            for _, engine in made.values():
                await engine.dispose()


@asynccontextmanager
async def repositories(engine: AsyncEngine, path: str) -> AsyncIterator[dict[str, Any]]:
    """Each read model on `path` ("fast" or "core"), in one transaction, committed."""
    async with engine.connect() as conn:
        await conn.begin()
        yield await _repositories(conn, path)
        await conn.commit()


async def _repositories(conn: AsyncConnection, path: str) -> dict[str, Any]:
    if path == "core":
        return {kind: kind_of(conn) for kind, kind_of in CORE.items()}
    await conn.exec_driver_sql("SELECT 1")  # opens the transaction on the driver
    driver = await driver_of(conn)
    assert driver is not None
    return {kind: kind_of(conn, driver) for kind, kind_of in FAST.items()}


async def write(engine: AsyncEngine, path: str, objects: dict[str, list[Any]], step: str) -> None:
    async with repositories(engine, path) as repos:
        for kind, of_kind in objects.items():
            for obj in of_kind:
                await getattr(repos[kind], step)(obj)


async def stored(url: str) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """Every read-model row as asyncpg gives it (no codecs), each value with its type."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        return {
            name: [
                tuple((type(value).__name__, value) for value in row.values())
                for row in await conn.fetch(f"SELECT * FROM {name} ORDER BY number")
            ]
            for name in READ_MODEL_TABLES
        }
    finally:
        await conn.close()


async def test_both_paths_store_the_same_values(engines):
    (fast_url, fast), (core_url, core) = engines["fast"], engines["core"]
    for objects, step in ((ADDED, "add"), (UPDATED, "update")):
        await write(fast, "fast", objects, step)
        await write(core, "core", objects, step)
        rows = await stored(fast_url)
        assert rows == await stored(core_url)
        assert [len(rows[kind]) for kind in READ_MODEL_TABLES] == [len(ADDED[k]) for k in ADDED]


async def test_rows_read_the_same_whichever_path_wrote_them(engines):
    for path in ("fast", "core"):
        await write(engines[path][1], path, ADDED, "add")
        await write(engines[path][1], path, UPDATED, "update")
    expected = {kind: {obj.id: obj for obj in objects} for kind, objects in ADDED.items()}
    for kind, objects in UPDATED.items():
        expected[kind].update((obj.id, obj) for obj in objects)
    for _, engine in engines.values():
        for path in ("fast", "core"):
            async with repositories(engine, path) as repos:
                for kind, by_id in expected.items():
                    repo = repos[kind]
                    for obj in by_id.values():
                        assert await repo.get(obj.id) == obj
                        assert await repo.get_by_number(obj.number) == obj
                    assert await repo.get("no-such-id") is None
                    assert await repo.get_by_number(999) is None
                    assert await repo.next_number() == max(o.number for o in by_id.values()) + 1


@pytest.mark.parametrize("path", ["fast", "core"])
async def test_the_fast_path_raises_as_the_core_read_models_do(engines, path):
    """An id or number taken: Conflict; a value the column cannot store: ValueError; an
    update of a row that is not there: LookupError."""
    engine = engines[path][1]
    naive = datetime(2026, 11, 26, 9, 30)
    refused = [
        ("add", todo(1, id="another-id"), Conflict),
        ("add", todo(2, id=todo(1).id), Conflict),
        ("add", todo(3, created_at=naive), ValueError),
        ("update", replace(todo(1), updated_at=naive), ValueError),
        ("update", todo(4), LookupError),
        ("update", replace(todo(1), number=9), Conflict),  # number 9 is taken
    ]
    await write(engine, path, {"todos": [todo(1), todo(9, id="nine")]}, "add")
    for step, obj, error in refused:
        async with engine.connect() as conn:
            await conn.begin()
            todos = (await _repositories(conn, path))["todos"]
            with pytest.raises(error):
                await getattr(todos, step)(obj)
    async with repositories(engine, path) as repos:
        assert await repos["todos"].get(todo(1).id) == todo(1)
        assert await repos["todos"].next_number() == 10


async def test_a_writers_unit_of_work_uses_the_fast_path_and_a_readers_core(engines):
    factory = SqlUnitOfWorkFactory(engines["fast"][1], FakeClock())
    async with factory(write=True) as uow:
        assert isinstance(uow.todos, PostgresTodos)
        await uow.todos.add(todo(1))
        assert await uow.todos.get(todo(1).id) == todo(1)
        await uow.commit()
    async with factory() as uow:
        assert type(uow.todos) is CoreTodos
        assert await uow.todos.get(todo(1).id) == todo(1)


async def test_rows_the_writer_wrote_read_back_as_stored_without_a_trip(engines):
    """Deriving reads each new object back at once: the writer answers from what it wrote,
    exactly as the database would (UTC times, dates, lists as tuples), with no query."""
    engine = engines["fast"][1]
    for objects, step, statement in ((ADDED, "add", "INSERT"), (UPDATED, "update", "UPDATE")):
        async with engine.connect() as conn:
            await conn.begin()
            repos = await _repositories(conn, "fast")
            queries: list[str] = []
            repos["todos"]._driver.add_query_logger(
                lambda record, into=queries: into.append(record.query)
            )
            in_memory: dict[str, Any] = {}
            for kind, of_kind in objects.items():
                for obj in of_kind:
                    await getattr(repos[kind], step)(obj)
                    in_memory[obj.id] = await repos[kind].get(obj.id)
                    assert await repos[kind].get_by_number(obj.number) is in_memory[obj.id]
            await asyncio.sleep(0)  # asyncpg calls its query loggers with call_soon
            assert [query.split()[0] for query in queries] == [statement] * len(in_memory)
            await conn.commit()
        async with repositories(engine, "core") as core:
            for kind, of_kind in objects.items():
                for obj in of_kind:
                    # repr: equal values, the same types and zones (not only equal instants)
                    assert repr(await core[kind].get(obj.id)) == repr(in_memory[obj.id])
