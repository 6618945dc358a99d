"""The read models' SQLite fast path (infrastructure/sqlite/read_models.py) against the
SQLAlchemy Core path it stands in for: the same stored values, byte for byte, rows that
read the same whichever path wrote them, the same errors, and one trip per statement."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable
from contextlib import closing
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.errors import Conflict, StorageUnavailable
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.sqlite.read_models import (
    SqliteDecisions,
    SqliteNotes,
    SqliteTodos,
    SqliteTracks,
)
from infrastructure.tables import metadata
from tests.integration.test_read_models import (
    READ_MODEL_TABLES,
    at,
    decision,
    note,
    todo,
    track,
)

EAST = timezone(timedelta(hours=5, minutes=30))
ODD = 'Ärger — “quoted” "too" \\ back\tslash 🦉 ünïcode\n'

# Per kind: objects with every value set (non-ASCII text, lists, dates, times in another
# zone or without microseconds) and objects left bare (None, empty lists), then the same
# objects changed by `update`.
ADDED = {
    "todos": [
        todo(
            1,
            title=ODD,
            description=ODD,
            status="done",
            priority="urgent",
            due=date(2026, 12, 31),
            tags=("home", ODD, ""),
            completed_at=at(90),
            created_at=datetime(2026, 11, 26, 15, 0, 0, 1, tzinfo=EAST),
            updated_at=datetime(2026, 11, 26, 9, 30, tzinfo=UTC),
            source_event_seq=2**40,
        ),
        todo(2),
        todo(3, due=date(999, 1, 2), created_at=datetime(999, 1, 2, tzinfo=UTC)),
    ],
    "notes": [note(1, title=ODD, content=ODD, tags=(ODD,)), note(2)],
    "tracks": [
        track(
            1,
            description=ODD,
            status="paused",
            check_in_every=3,
            last_check_in_at=datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=EAST),
        ),
        track(2),
    ],
    "decisions": [
        decision(
            1,
            rationale=ODD,
            options=(ODD, "PostgreSQL"),
            status="superseded",
            supersedes=decision(3).id,
            superseded_by=decision(2).id,
        ),
        decision(2),
    ],
}
UPDATED = {
    "todos": [
        replace(
            todo(2),
            status="done",
            completed_at=at(7),
            tags=("later",),
            due=date(2027, 1, 2),
            description=ODD,
            updated_at=at(7),
        ),
        replace(ADDED["todos"][0], due=None, tags=(), completed_at=None, description=None),
    ],
    "notes": [replace(note(2), title="changed", tags=("x", "y"))],
    "tracks": [
        replace(track(2), last_check_in_at=at(9), updated_at=at(9)),
        replace(ADDED["tracks"][0], last_check_in_at=None, description=None),
    ],
    "decisions": [
        replace(decision(2), status="revoked", options=("a",), rationale=ODD, updated_at=at(8))
    ],
}


def repositories(conn: AsyncConnection) -> dict[str, Any]:
    return {
        "todos": SqliteTodos(conn),
        "notes": SqliteNotes(conn),
        "tracks": SqliteTracks(conn),
        "decisions": SqliteDecisions(conn),
    }


# The SQLAlchemy Core path, as the repositories ran it before the fast path (and as the
# rebuild's bulk statements still do).


async def core_add(conn: AsyncConnection, repo: Any, obj: Any) -> None:
    await conn.execute(repo.codec.table.insert().values(repo.codec.to_row(obj)))


async def core_update(conn: AsyncConnection, repo: Any, obj: Any) -> None:
    table, values = repo.codec.table, repo.codec.to_row(obj)
    del values["id"]
    await conn.execute(table.update().where(table.c.id == obj.id).values(values))


async def core_get(conn: AsyncConnection, repo: Any, id: str) -> Any:
    table = repo.codec.table
    row = (await conn.execute(select(*repo.codec.columns).where(table.c.id == id))).first()
    return None if row is None else repo.codec.from_row(row)


async def fast_add(conn: AsyncConnection, repo: Any, obj: Any) -> None:
    await repo.add(obj)


async def fast_update(conn: AsyncConnection, repo: Any, obj: Any) -> None:
    await repo.update(obj)


def stored(path: Path) -> dict[str, list[tuple[tuple[str, Any], ...]]]:
    """Every read-model row as sqlite3 gives it, each value with its type."""
    with closing(sqlite3.connect(path)) as db:
        return {
            name: [
                tuple((type(value).__name__, value) for value in row)
                for row in db.execute(f"SELECT * FROM {name} ORDER BY number")
            ]
            for name in READ_MODEL_TABLES
        }


@pytest.fixture
async def files(tmp_path: Path) -> AsyncIterator[dict[str, tuple[Path, AsyncEngine]]]:
    """Two migrated SQLite files: one written on the fast path, one through Core."""
    made = {name: tmp_path / f"{name}.db" for name in ("fast", "core")}
    engines = {name: create_engine(f"sqlite+aiosqlite:///{path}") for name, path in made.items()}
    try:
        for engine in engines.values():
            await upgrade(engine, "dev")
        yield {name: (made[name], engines[name]) for name in made}
    finally:
        for engine in engines.values():
            await engine.dispose()


async def write(engine: AsyncEngine, step: Any, objects: dict[str, list[Any]]) -> None:
    """`step(conn, repository, obj)` for every object, in one committed transaction."""
    async with engine.begin() as conn:
        repos = repositories(conn)
        for kind, of_kind in objects.items():
            for obj in of_kind:
                await step(conn, repos[kind], obj)


async def write_everything(engine: AsyncEngine, add: Any, update: Any) -> None:
    await write(engine, add, ADDED)
    await write(engine, update, UPDATED)


def columns(rows: dict[str, list[Any]], kind: str, number: int) -> dict[str, Any]:
    """Row `number` of `kind` from `stored`, by column name."""
    return dict(zip(metadata.tables[kind].c.keys(), rows[kind][number - 1], strict=True))


async def test_both_paths_store_the_same_values(files):
    (fast_path, fast_engine), (core_path, core_engine) = files["fast"], files["core"]
    snapshots = []
    for objects, fast_step, core_step in (
        (ADDED, fast_add, core_add),
        (UPDATED, fast_update, core_update),
    ):
        await write(fast_engine, fast_step, objects)
        await write(core_engine, core_step, objects)
        snapshots.append(stored(fast_path))
        assert snapshots[-1] == stored(core_path)
    added, updated = snapshots
    assert [len(added[kind]) for kind in READ_MODEL_TABLES] == [len(ADDED[k]) for k in ADDED]
    todo_1 = columns(added, "todos", 1)
    assert todo_1["created_at"] == ("str", "2026-11-26 09:30:00.000001")
    assert todo_1["updated_at"] == ("str", "2026-11-26 09:30:00.000000")
    assert todo_1["tags"][1].startswith('["home","Ärger — “quoted” \\"too\\"')
    assert columns(added, "todos", 3)["due"] == ("str", "0999-01-02")
    track_1 = columns(added, "tracks", 1)
    assert track_1["last_check_in_at"] == ("str", "2026-11-30 18:29:59.999999")
    todo_1 = columns(updated, "todos", 1)
    assert (todo_1["due"], todo_1["tags"], todo_1["completed_at"]) == (
        ("NoneType", None),
        ("str", "[]"),
        ("NoneType", None),
    )


async def test_rows_read_the_same_whichever_path_wrote_them(files):
    await write_everything(files["fast"][1], fast_add, fast_update)
    await write_everything(files["core"][1], core_add, core_update)
    expected = {kind: {obj.id: obj for obj in objects} for kind, objects in ADDED.items()}
    for kind, objects in UPDATED.items():
        expected[kind].update((obj.id, obj) for obj in objects)
    for _, engine in files.values():
        async with engine.connect() as conn:
            await conn.begin()
            repos = repositories(conn)
            for kind, by_id in expected.items():
                repo = repos[kind]
                for obj in by_id.values():
                    assert await repo.get(obj.id) == obj
                    assert await repo.get_by_number(obj.number) == obj
                    assert await core_get(conn, repo, obj.id) == obj
                listed = await repo.list(limit=10)
                assert sorted(listed, key=lambda o: o.number) == sorted(
                    by_id.values(), key=lambda o: o.number
                )
                assert await repo.next_number() == max(o.number for o in by_id.values()) + 1
            assert [n.number for n in await repos["notes"].list("ärger")] == [1]
            assert await repos["todos"].count_by_status() == {"open": 1, "done": 2, "cancelled": 0}


async def test_the_fast_path_raises_as_the_core_read_models_do(files):
    """An id or number taken: Conflict; a value the column cannot store: ValueError (as
    `CoreRows`, which PostgreSQL uses: tests/integration/test_read_models.py)."""
    add, update = fast_add, fast_update
    async with files["fast"][1].connect() as conn:
        await conn.begin()
        todos = SqliteTodos(conn)
        await add(conn, todos, todo(1))
        for clash in (todo(1, id="another-id"), todo(2, id=todo(1).id)):
            with pytest.raises(Conflict):
                await add(conn, todos, clash)
        naive = datetime(2026, 11, 26, 9, 30)
        for write, obj in (
            (add, todo(3, created_at=naive)),
            (update, replace(todo(1), updated_at=naive)),
        ):
            with pytest.raises(ValueError, match="naive"):
                await write(conn, todos, obj)
        assert await todos.get(todo(1).id) == todo(1)
        assert await todos.next_number() == 2


async def test_a_database_that_does_not_answer_is_storage_unavailable(files):
    async with files["fast"][1].connect() as conn:
        await conn.begin()
        await conn.exec_driver_sql("ALTER TABLE todos RENAME TO todos_elsewhere")
        todos = SqliteTodos(conn)
        for step in (todos.next_number, lambda: todos.get("x"), lambda: todos.add(todo(1))):
            with pytest.raises(StorageUnavailable):
                await step()


async def test_each_statement_is_one_trip_to_the_driver(files, monkeypatch):
    async with files["fast"][1].connect() as conn:
        await conn.begin()
        driver = (await conn.get_raw_connection()).driver_connection
        trips: list[Any] = []
        real = driver._execute  # every call of aiosqlite's goes to its thread through it

        async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
            trips.append(fn)
            return await real(fn, *args, **kwargs)

        monkeypatch.setattr(driver, "_execute", counted)

        async def trips_of(step: Awaitable[Any]) -> int:
            before = len(trips)
            await step
            return len(trips) - before

        todos = SqliteTodos(conn)
        assert await trips_of(todos.next_number()) == 1
        assert await trips_of(todos.add(todo(1))) == 1
        assert await trips_of(todos.update(replace(todo(1), status="done"))) == 1
        # A row this repository wrote reads back without a trip (WrittenRows), another one
        # takes one.
        assert await trips_of(todos.get(todo(1).id)) == 0
        elsewhere = SqliteTodos(conn)
        assert await trips_of(elsewhere.get(todo(1).id)) == 1
        assert await trips_of(elsewhere.get_by_number(1)) == 1


async def test_rows_the_writer_wrote_read_back_as_stored(files):
    """What a repository answers for a row it wrote is what a read of the row gives, in
    every field and type (UTC times, dates, lists as tuples), not the object handed in."""
    engine = files["fast"][1]
    for objects, step in ((ADDED, fast_add), (UPDATED, fast_update)):
        async with engine.connect() as conn:
            await conn.begin()
            repos = repositories(conn)
            in_memory: dict[str, Any] = {}
            for kind, of_kind in objects.items():
                for obj in of_kind:
                    await step(conn, repos[kind], obj)
                    in_memory[obj.id] = await repos[kind].get(obj.id)
                    assert await repos[kind].get_by_number(obj.number) is in_memory[obj.id]
            await conn.commit()
        async with engine.connect() as conn:
            for kind, of_kind in objects.items():
                for obj in of_kind:
                    read = await core_get(conn, repositories(conn)[kind], obj.id)
                    assert repr(read) == repr(in_memory[obj.id])
