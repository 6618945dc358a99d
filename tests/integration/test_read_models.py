"""One read-model contract, three implementations: the in-memory fakes, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import inspect

from domain.errors import Conflict
from domain.objects import Decision, Note, Todo, Track
from domain.todo_filter import TodoFilter, sort_key
from infrastructure.database import create_engine
from infrastructure.migrate import downgrade, upgrade
from infrastructure.read_models import CoreDecisions, CoreNotes, CoreTodos, CoreTracks
from infrastructure.sqlite.read_models import (
    SqliteDecisions,
    SqliteNotes,
    SqliteTodos,
    SqliteTracks,
)
from infrastructure.tables import metadata
from tests.conftest import fresh_postgres_database
from tests.fakes_models import InMemoryReadModels

T0 = datetime(2026, 11, 26, 9, 30, 15, 123456, tzinfo=UTC)
READ_MODEL_TABLES = ("todos", "notes", "tracks", "decisions")


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def todo(number: int, **changes: Any) -> Todo:
    fields = dict(
        id=f"00000000-0000-4000-8000-{number:012d}",
        number=number,
        title=f"todo {number}",
        description=None,
        status="open",
        priority="normal",
        due=None,
        tags=(),
        created_at=at(number),
        updated_at=at(number),
        completed_at=None,
        source_event_seq=number,
    )
    return Todo(**{**fields, **changes})


def note(number: int, **changes: Any) -> Note:
    fields = dict(
        id=f"00000000-0000-4000-9000-{number:012d}",
        number=number,
        title=f"note {number}",
        content="",
        tags=(),
        created_at=at(number),
        source_event_seq=number,
    )
    return Note(**{**fields, **changes})


def track(number: int, **changes: Any) -> Track:
    fields = dict(
        id=f"00000000-0000-4000-a000-{number:012d}",
        number=number,
        title=f"track {number}",
        description=None,
        status="active",
        check_in_every=7,
        last_check_in_at=None,
        created_at=at(number),
        updated_at=at(number),
        source_event_seq=number,
    )
    return Track(**{**fields, **changes})


def decision(number: int, **changes: Any) -> Decision:
    fields = dict(
        id=f"00000000-0000-4000-b000-{number:012d}",
        number=number,
        title=f"decision {number}",
        rationale=None,
        options=(),
        status="active",
        decided_at=at(number),
        supersedes=None,
        superseded_by=None,
        source_event_seq=number,
        updated_at=at(number),
    )
    return Decision(**{**fields, **changes})


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend_url(request, tmp_path) -> AsyncIterator[str | None]:
    if request.param == "memory":
        yield None
    elif request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'read_models.db'}"
    else:
        async with fresh_postgres_database() as url:
            yield url


@pytest.fixture
async def models(backend_url: str | None) -> AsyncIterator[Any]:
    """The four repositories; the SQL ones share one transaction, rolled back at the end."""
    if backend_url is None:
        yield InMemoryReadModels()
        return
    engine = create_engine(backend_url)
    try:
        await upgrade(engine, "dev")
        async with engine.connect() as conn:
            await conn.begin()
            # Each backend's own: SQLite's send their hot statements to the driver.
            sqlite = conn.dialect.name == "sqlite"
            yield SimpleNamespace(
                todos=(SqliteTodos if sqlite else CoreTodos)(conn),
                notes=(SqliteNotes if sqlite else CoreNotes)(conn),
                tracks=(SqliteTracks if sqlite else CoreTracks)(conn),
                decisions=(SqliteDecisions if sqlite else CoreDecisions)(conn),
            )
    finally:
        await engine.dispose()


# --- every field type comes back as it went in ---------------------------------------


async def test_a_todo_round_trips_every_field(models):
    full = todo(
        1,
        title="Steuer für 2026 — Ärger",
        description="line one\nline two",
        status="done",
        priority="urgent",
        due=date(2026, 12, 31),
        tags=("home", "ünïcode", "with space"),
        completed_at=at(90),
        updated_at=at(90),
        source_event_seq=2**40,
    )
    bare = todo(2)
    await models.todos.add(full)
    await models.todos.add(bare)
    got, got_bare = await models.todos.get(full.id), await models.todos.get(bare.id)
    assert (got, got_bare) == (full, bare)
    assert type(got.tags) is tuple and type(got_bare.tags) is tuple
    assert type(got.due) is date and got_bare.due is None
    for moment in (got.created_at, got.updated_at, got.completed_at):
        assert moment.utcoffset() == timedelta(0) and moment.microsecond == 123456


async def test_a_note_track_and_decision_round_trip_every_field(models):
    n = note(1, title="Wi-Fi", content="50% of\tthe_key", tags=("home",))
    t = track(
        1,
        description="5k",
        status="paused",
        check_in_every=3,
        last_check_in_at=at(30),
        updated_at=at(31),
    )
    old = decision(1, status="superseded", superseded_by=decision(2).id, updated_at=at(60))
    new = decision(2, rationale="two writers", options=("SQLite", "PostgreSQL"), supersedes=old.id)
    await models.notes.add(n)
    await models.tracks.add(t)
    await models.decisions.add(old)
    await models.decisions.add(new)
    assert await models.notes.get(n.id) == n
    assert await models.tracks.get(t.id) == t
    assert await models.decisions.get(old.id) == old
    got = await models.decisions.get(new.id)
    assert got == new and type(got.options) is tuple
    assert (await models.tracks.get(t.id)).last_check_in_at.utcoffset() == timedelta(0)


async def test_a_time_in_another_zone_comes_back_as_the_same_instant(models):
    berlin = timezone(timedelta(hours=1))
    await models.todos.add(todo(1, created_at=datetime(2026, 11, 26, 10, 0, tzinfo=berlin)))
    got = await models.todos.get(todo(1).id)
    assert got.created_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


# --- get, get_by_number, update, next_number -------------------------------------------


@pytest.mark.parametrize("kind", ["todos", "notes", "tracks", "decisions"])
async def test_get_and_get_by_number(models, kind):
    make = {"todos": todo, "notes": note, "tracks": track, "decisions": decision}[kind]
    repo = getattr(models, kind)
    assert await repo.get(make(1).id) is None
    assert await repo.get_by_number(1) is None
    for number in (1, 2, 5):
        await repo.add(make(number))
    assert await repo.get(make(2).id) == make(2)
    assert await repo.get_by_number(5) == make(5)
    assert await repo.get_by_number(3) is None
    assert await repo.get("no-such-id") is None


@pytest.mark.parametrize("kind", ["todos", "notes", "tracks", "decisions"])
async def test_next_number_is_one_past_the_highest(models, kind):
    make = {"todos": todo, "notes": note, "tracks": track, "decisions": decision}[kind]
    repo = getattr(models, kind)
    assert await repo.next_number() == 1
    for number in (2, 1, 7):
        await repo.add(make(number))
    assert await repo.next_number() == 8


@pytest.mark.parametrize("kind", ["todos", "notes", "tracks", "decisions"])
async def test_next_number_counts_on_after_each_add(models, kind):
    """As a derivation does within one transaction: ask, add with that number, ask
    again; a row added with a higher number (as a rebuild does) moves it past that."""
    make = {"todos": todo, "notes": note, "tracks": track, "decisions": decision}[kind]
    repo = getattr(models, kind)
    await repo.add(make(3))
    for expected in (4, 5, 6):
        assert await repo.next_number() == expected
        assert await repo.next_number() == expected  # asking twice takes nothing
        await repo.add(make(expected))
    await repo.add(make(10))
    await repo.add(make(8))
    assert await repo.next_number() == 11


async def test_update_replaces_the_row_with_the_same_id(models):
    await models.todos.add(todo(1))
    await models.todos.add(todo(2))
    done = replace(
        todo(1),
        status="done",
        completed_at=at(50),
        updated_at=at(50),
        tags=("later",),
        due=date(2027, 1, 2),
    )
    await models.todos.update(done)
    assert await models.todos.get(done.id) == done
    assert await models.todos.get(todo(2).id) == todo(2)
    await models.tracks.add(track(1))
    checked = replace(track(1), last_check_in_at=at(9), updated_at=at(9))
    await models.tracks.update(checked)
    assert await models.tracks.get_by_number(1) == checked
    await models.decisions.add(decision(1))
    revoked = replace(decision(1), status="revoked", options=("a",), updated_at=at(8))
    await models.decisions.update(revoked)
    assert await models.decisions.get(revoked.id) == revoked


async def test_updating_an_object_never_added_fails(models):
    with pytest.raises((AssertionError, LookupError)):
        await models.todos.update(todo(1))


async def test_a_number_is_given_once(models):
    await models.todos.add(todo(1))
    with pytest.raises(Conflict):
        await models.todos.add(todo(1, id="another-id"))


# --- lists: filters, ordering, limit; counts -------------------------------------------


async def test_todos_list_by_status_in_number_order(models):
    statuses = {1: "done", 2: "open", 3: "cancelled", 4: "open", 5: "done", 6: "open"}
    for number in (4, 1, 6, 2, 5, 3):  # stored out of order
        await models.todos.add(todo(number, status=statuses[number]))
    numbers = [t.number for t in await models.todos.list()]
    assert numbers == [1, 2, 3, 4, 5, 6]
    assert [t.number for t in await models.todos.list("open")] == [2, 4, 6]
    assert [t.number for t in await models.todos.list("done")] == [1, 5]
    assert [t.number for t in await models.todos.list("cancelled")] == [3]
    assert [t.number for t in await models.todos.list("open", limit=2)] == [2, 4]
    assert [t.number for t in await models.todos.list(None, limit=3)] == [1, 2, 3]
    assert await models.todos.list(limit=0) == []
    assert await models.todos.list("open") == [todo(n) for n in (2, 4, 6)]


async def test_tracks_list_by_status_in_number_order(models):
    statuses = {1: "done", 2: "active", 3: "paused", 4: "active"}
    for number in (3, 4, 1, 2):
        await models.tracks.add(track(number, status=statuses[number]))
    assert [t.number for t in await models.tracks.list()] == [1, 2, 3, 4]
    assert [t.number for t in await models.tracks.list("active")] == [2, 4]
    assert [t.number for t in await models.tracks.list("paused")] == [3]
    assert [t.number for t in await models.tracks.list("done")] == [1]
    assert [t.number for t in await models.tracks.list(limit=1)] == [1]


async def test_decisions_list_by_status_newest_first(models):
    statuses = {1: "superseded", 2: "active", 3: "revoked", 4: "active", 5: "active"}
    for number in (2, 5, 1, 4, 3):
        await models.decisions.add(decision(number, status=statuses[number]))
    assert [d.number for d in await models.decisions.list()] == [5, 4, 3, 2, 1]
    assert [d.number for d in await models.decisions.list("active")] == [5, 4, 2]
    assert [d.number for d in await models.decisions.list("superseded")] == [1]
    assert [d.number for d in await models.decisions.list("revoked")] == [3]
    assert [d.number for d in await models.decisions.list("active", limit=2)] == [5, 4]


async def test_notes_list_newest_first_with_a_limit(models):
    for number in (2, 3, 1):
        await models.notes.add(note(number))
    assert [n.number for n in await models.notes.list()] == [3, 2, 1]
    assert [n.number for n in await models.notes.list(limit=2)] == [3, 2]
    assert [n.number for n in await models.notes.list("")] == [3, 2, 1]


# --- paging and filtering (domain/listing.py, domain/todo_filter.py) ---------------------

BERLIN = timezone(timedelta(hours=1))


def timed(day: int, hour: int) -> dict[str, Any]:
    """A due on December `day` at `hour` Berlin time: its day and its instant."""
    moment = datetime(2026, 12, day, hour, tzinfo=BERLIN)
    return {"due": moment.date(), "due_at": moment.astimezone(UTC)}


# Stored out of order; what each filter keeps and the due order are worked out by hand.
FILTERED = {
    1: dict(due=date(2026, 12, 9), tags=("home",), priority="high"),
    2: dict(tags=("home", "shop")),
    3: dict(**timed(8, 17), tags=("work",), priority="high"),
    4: dict(due=date(2026, 12, 8), status="done", tags=("home",)),
    5: dict(**timed(8, 9), priority="urgent", tags=("ärger",)),
    6: dict(due=date(2026, 12, 7), tags=("homework",)),
    7: dict(due=date(2026, 12, 8), priority="low"),
}


async def stored_filtered(models) -> None:
    for number in (4, 7, 1, 6, 2, 5, 3):
        await models.todos.add(todo(number, **FILTERED[number]))


@pytest.mark.parametrize(
    ("asked", "expected"),
    [
        ({}, [1, 2, 3, 5, 6, 7]),
        ({"status": "all"}, [1, 2, 3, 4, 5, 6, 7]),
        ({"status": "done"}, [4]),
        ({"tag": "home"}, [1, 2]),  # not "homework": a whole tag
        ({"tag": "#HOME", "status": "all"}, [1, 2, 4]),
        ({"tag": "ärger"}, [5]),
        ({"priority": "high"}, [1, 3]),
        ({"due_before": date(2026, 12, 8)}, [6]),
        ({"due_after": date(2026, 12, 8)}, [1]),
        ({"due_after": date(2026, 12, 7), "due_before": date(2026, 12, 9)}, [3, 5, 7]),
        ({"tag": "home", "due_before": date(2027, 1, 1)}, [1]),  # undated #2 left out
        ({"sort": "due"}, [6, 7, 5, 3, 1, 2]),  # 8th: all day, 9:00, 17:00; undated last
        ({"sort": "due", "status": "all"}, [6, 4, 7, 5, 3, 1, 2]),
    ],
)
async def test_todos_are_filtered_and_sorted_as_the_filter_says(models, asked, expected):
    await stored_filtered(models)
    wanted = TodoFilter.asked(**asked)
    assert [t.number for t in await models.todos.find(wanted, None, 100)] == expected
    assert await models.todos.count(wanted) == len(expected)
    # The same in Python, as the in-memory fakes and the domain read it.
    kept = sorted(
        (todo(n, **FILTERED[n]) for n in FILTERED if wanted.keeps(todo(n, **FILTERED[n]))),
        key=lambda t: sort_key(wanted.key_of(t)) if wanted.sort == "due" else (t.number,),
    )
    assert [t.number for t in kept] == expected


@pytest.mark.parametrize("sort", ["number", "due"])
async def test_todos_page_from_a_key_every_one_once(models, sort):
    await stored_filtered(models)
    wanted = TodoFilter.asked(status="all", sort=sort)
    every = await models.todos.find(wanted, None, 100)
    seen, after = [], None
    while True:
        page = await models.todos.find(wanted, after, 2)
        if not page:
            break
        seen += page
        after = wanted.key_of(page[-1])
    assert seen == every and len(every) == 7


async def test_tracks_decisions_and_notes_page_past_a_number(models):
    for number in (3, 1, 4, 2):
        await models.tracks.add(track(number, status="paused" if number == 3 else "active"))
        await models.decisions.add(decision(number))
        await models.notes.add(note(number, title="tulip" if number != 2 else "rose"))
    assert [t.number for t in await models.tracks.list(None, 2, after=2)] == [3, 4]
    assert [t.number for t in await models.tracks.list("active", 5, after=1)] == [2, 4]
    assert [d.number for d in await models.decisions.list(None, 2, before=4)] == [3, 2]
    assert [n.number for n in await models.notes.list("TULIP", 5, before=4)] == [3, 1]
    assert await models.notes.count(None, "tulip") == 3
    assert await models.notes.count("active", "ROSE") == 1


async def test_counts_name_every_status_zeros_included(models):
    assert await models.todos.count_by_status() == {"open": 0, "done": 0, "cancelled": 0}
    assert await models.tracks.count_by_status() == {"active": 0, "paused": 0, "done": 0}
    assert await models.decisions.count_by_status() == {
        "active": 0,
        "superseded": 0,
        "revoked": 0,
    }
    assert await models.notes.count() == 0
    for number, status in enumerate(["open", "done", "open"], start=1):
        await models.todos.add(todo(number, status=status))
    await models.tracks.add(track(1, status="paused"))
    await models.decisions.add(decision(1))
    await models.decisions.add(decision(2, status="revoked"))
    for number in (1, 2):
        await models.notes.add(note(number))
    assert await models.todos.count_by_status() == {"open": 2, "done": 1, "cancelled": 0}
    assert await models.tracks.count_by_status() == {"active": 0, "paused": 1, "done": 0}
    assert await models.decisions.count_by_status() == {
        "active": 1,
        "superseded": 0,
        "revoked": 1,
    }
    assert await models.notes.count() == 2


# --- note search ------------------------------------------------------------------------

SEARCHABLE = {
    1: ("50% off", "at the corner shop"),
    2: ("snake_case names", ""),
    3: ("Ärger im Büro", "mit dem Chef"),
    4: ("Straße", "the Main one"),
    5: ("paths", r"C:\temp\x and a/b"),
    6: ("plain", "Fifty percent, snake case and ÄRGERLICH things"),
}


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("%", [1]),
        ("50%", [1]),
        ("0% O", [1]),
        ("_", [2]),
        ("e_c", [2]),  # an unescaped _ would match "e c" in note 6 too
        ("%_%", []),
        ("ärger", [6, 3]),
        ("ÄRGER IM", [3]),
        ("büro", [3]),
        ("BÜRO", [3]),
        ("STRASSE", [4]),  # casefold: ß is ss
        ("main ONE", [4]),
        ("\\", [5]),
        ("/", [5]),
        (r"c:\TEMP", [5]),
        ("Snake", [6, 2]),
        ("nothing like it", []),
        ("", [6, 5, 4, 3, 2, 1]),
        (None, [6, 5, 4, 3, 2, 1]),
    ],
)
async def test_note_search_is_a_case_insensitive_literal_substring(models, search, expected):
    for number, (title, content) in SEARCHABLE.items():
        await models.notes.add(note(number, title=title, content=content))
    assert [n.number for n in await models.notes.list(search)] == expected


async def test_note_search_respects_the_limit_newest_first(models):
    for number in range(1, 6):
        await models.notes.add(note(number, content="Shared WORD"))
    await models.notes.add(note(6, content="other"))
    assert [n.number for n in await models.notes.list("word", limit=3)] == [5, 4, 3]


# --- the migration ----------------------------------------------------------------------


async def test_the_migration_matches_the_tables_and_goes_down_and_up_again(database_url):
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "dev")
        async with engine.connect() as conn:
            schema = await conn.run_sync(_schema)
        for name in READ_MODEL_TABLES:
            table = metadata.tables[name]
            columns, indexes, uniques = schema[name]
            assert columns == [c.name for c in table.columns]
            assert indexes == sorted(i.name for i in table.indexes)
            assert uniques == [f"uq_{name}_number"]
        await downgrade(engine, "dev", "20261126_0001")
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert not set(READ_MODEL_TABLES) & set(names) and "events" in names
        await upgrade(engine, "dev")
        async with engine.connect() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        assert set(READ_MODEL_TABLES) <= set(names)
    finally:
        await engine.dispose()


def _schema(sync_conn) -> dict[str, tuple[list[str], list[str], list[str]]]:
    found = inspect(sync_conn)
    return {
        name: (
            [c["name"] for c in found.get_columns(name)],
            sorted(i["name"] for i in found.get_indexes(name) if not i.get("unique")),
            sorted(u["name"] for u in found.get_unique_constraints(name)),
        )
        for name in READ_MODEL_TABLES
    }
