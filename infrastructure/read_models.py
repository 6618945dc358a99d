"""The four read models on SQLAlchemy Core, over the unit of work's connection.

They keep the orderings, filters and counts the Protocols in `domain.repositories`
promise (the in-memory fakes in tests/fakes_models.py keep the same ones, and one contract
suite runs against every backend). They add and update; only the unit of work commits.

PostgreSQL uses them as they are. SQLite's (infrastructure/sqlite/read_models.py) send
what deriving an object or changing its status runs (next_number, add, get, update,
get_by_number) straight to the driver, and keep lists, counts and search from here.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import fields
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    Row,
    Select,
    String,
    Table,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
)
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict
from domain.listing import Key
from domain.objects import (
    DECISION_STATUSES,
    TODO_STATUSES,
    TRACK_STATUSES,
    Decision,
    Note,
    Todo,
    Track,
)
from domain.todo_filter import FIRST_INSTANT, LAST_DAY, TodoFilter, sort_key
from infrastructure.tables import UtcDateTime, decisions, notes, todos, tracks

Model = TypeVar("Model", Todo, Note, Track, Decision)


class RowCodec(Generic[Model]):
    """One dataclass to one table row and back: the columns carry the field names, tuples
    are stored as JSON lists, and `derived` adds columns computed from the object."""

    def __init__(
        self,
        table: Table,
        model: type[Model],
        *,
        lists: tuple[str, ...] = (),
        derived: Callable[[Model], Mapping[str, Any]] | None = None,
    ) -> None:
        self.table = table
        self.model: type[Model] = model
        self.names = tuple(field.name for field in fields(model))
        self.columns = tuple(table.c[name] for name in self.names)
        self._lists = lists
        self._list_positions = tuple(self.names.index(name) for name in lists)
        self._derived: Callable[[Model], Mapping[str, Any]] | None = derived

    def to_row(self, obj: Model) -> dict[str, Any]:
        row = {name: getattr(obj, name) for name in self.names}
        for name in self._lists:
            row[name] = list(row[name])
        if self._derived is not None:
            row.update(self._derived(obj))
        return row

    def from_row(self, row: Row[Any] | Sequence[Any]) -> Model:
        """From a row selected as `select(*codec.columns)` (or SqliteRows.get's values)."""
        values = list(row)
        for position in self._list_positions:
            values[position] = tuple(values[position])
        return self.model(*values)


def _note_search_columns(note: Note) -> dict[str, str]:
    # Folded in Python, so "Ärger" and "STRASSE" match the same way on SQLite (whose
    # lower() and LIKE fold ASCII only) and on PostgreSQL (whose lower() follows the
    # database's ctype), and exactly as str.casefold() does in the in-memory fake.
    return {"title_folded": note.title.casefold(), "content_folded": note.content.casefold()}


TODO_ROWS = RowCodec(todos, Todo, lists=("tags",))
NOTE_ROWS = RowCodec(notes, Note, lists=("tags",), derived=_note_search_columns)
TRACK_ROWS = RowCodec(tracks, Track)
DECISION_ROWS = RowCodec(decisions, Decision, lists=("options",))


class _Statements:
    """A table's hot statements, built once rather than per call: Core statements with
    bound parameters, which SQLAlchemy compiles once and then finds in its cache."""

    def __init__(self, codec: RowCodec[Any]) -> None:
        table = codec.table
        self.by_id = select(*codec.columns).where(table.c.id == bindparam("id"))
        self.by_number = select(*codec.columns).where(table.c.number == bindparam("number"))
        self.next_number = select(func.coalesce(func.max(table.c.number), 0) + 1)
        self.insert = table.insert()
        self.update = table.update().where(table.c.id == bindparam("_id"))


class WrittenRows(Generic[Model]):
    """The rows one write transaction has added or updated, as they read back from the
    database: deriving reads each new object back at once (domain/changes.py `reload`),
    and under the writer's lock nothing else changes them before the COMMIT, so the
    backends' fast paths answer those reads from here, without a trip. What is kept is
    built from the values as stored (UTC times, dates, JSON through its text), never the
    object handed in, so it equals what a read would give in every field and type."""

    def __init__(self) -> None:
        self._by_id: dict[str, Model] = {}
        self._by_number: dict[int, Model] = {}

    def by_id(self, id: str) -> Model | None:
        return self._by_id.get(id)

    def by_number(self, number: int) -> Model | None:
        return self._by_number.get(number)

    def remember(self, written: Model) -> None:
        before = self._by_id.get(written.id)
        if before is not None:
            del self._by_number[before.number]
        self._by_id[written.id] = written
        self._by_number[written.number] = written


class DriverRows(Generic[Model]):
    """A read model's hot statements (next number, add, get, update) on its backend's
    driver; lists, counts and search stay `CoreRows`'. A backend's fast path
    (sqlite/read_models.py, postgres/read_models.py) supplies the five statements, each
    raising as `CoreRows` does: Conflict for an id or number taken, ValueError for a
    value the column cannot store. A row this transaction wrote reads back from
    `WrittenRows`, without a statement."""

    codec: RowCodec[Model]
    _next_number: int | None

    def __init__(self, connection: AsyncConnection) -> None:
        super().__init__(connection)  # type: ignore[call-arg]  # CoreRows.__init__
        self._written: WrittenRows[Model] = WrittenRows()

    async def get(self, id: str) -> Model | None:
        if (written := self._written.by_id(id)) is not None:
            return written
        return self._decoded(await self._select_by_id(id))

    async def get_by_number(self, number: int) -> Model | None:
        if (written := self._written.by_number(number)) is not None:
            return written
        return self._decoded(await self._select_by_number(number))

    async def add(self, obj: Model) -> None:
        """Conflict when its id or number is taken."""
        self._written.remember(self.codec.from_row(await self._insert(obj)))
        if self._next_number is not None:
            self._next_number = max(self._next_number, obj.number + 1)

    async def update(self, obj: Model) -> None:
        """Replace the row with the same id; LookupError when there is none."""
        changed, stored = await self._update(obj)
        if changed != 1:
            raise LookupError(f"{self.codec.table.name}: {obj.id} is not stored")
        self._written.remember(self.codec.from_row(stored))

    async def next_number(self) -> int:
        if self._next_number is None:
            self._next_number = await self._select_next_number()
        return self._next_number

    def _decoded(self, values: Sequence[Any] | None) -> Model | None:
        return None if values is None else self.codec.from_row(values)

    # The backend's statements. `_insert` and `_update` return the selected columns of the
    # row they wrote as a read would give them back (`_update`: with how many rows changed).

    async def _select_by_id(self, id: str) -> Sequence[Any] | None:
        raise NotImplementedError

    async def _select_by_number(self, number: int) -> Sequence[Any] | None:
        raise NotImplementedError

    async def _select_next_number(self) -> int:
        raise NotImplementedError

    async def _insert(self, obj: Model) -> Sequence[Any]:
        raise NotImplementedError

    async def _update(self, obj: Model) -> tuple[int, Sequence[Any]]:
        raise NotImplementedError


class CoreRows(Generic[Model]):
    codec: RowCodec[Model]
    statements: _Statements
    newest_first = False

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.statements = _Statements(cls.codec)

    def __init__(self, connection: AsyncConnection) -> None:
        self._conn = connection
        # Read once per unit of work, then counted here: numbers are taken under the
        # writer lock, and every row this transaction adds comes through `add`.
        self._next_number: int | None = None

    async def get(self, id: str) -> Model | None:
        return await self._one(self.statements.by_id, {"id": id})

    async def get_by_number(self, number: int) -> Model | None:
        return await self._one(self.statements.by_number, {"number": number})

    async def add(self, obj: Model) -> None:
        """Conflict when its id or number is taken."""
        try:
            await self._conn.execute(self.statements.insert, self.codec.to_row(obj))
        except IntegrityError as e:
            raise Conflict(f"{self.codec.table.name} {obj.number} is already recorded") from e
        except StatementError as e:
            if isinstance(e.orig, ValueError):  # a value the column cannot store
                raise e.orig from None
            raise
        if self._next_number is not None:
            self._next_number = max(self._next_number, obj.number + 1)

    async def update(self, obj: Model) -> None:
        """Replace the row with the same id; LookupError when there is none."""
        row = self.codec.to_row(obj)
        row["_id"] = row.pop("id")
        try:
            changed = (await self._conn.execute(self.statements.update, row)).rowcount
        except IntegrityError as e:
            raise Conflict(f"{self.codec.table.name} {obj.number} is already recorded") from e
        except StatementError as e:
            if isinstance(e.orig, ValueError):
                raise e.orig from None
            raise
        if changed != 1:
            raise LookupError(f"{self.codec.table.name}: {obj.id} is not stored")

    async def next_number(self) -> int:
        if self._next_number is None:
            self._next_number = int(await self._conn.scalar(self.statements.next_number) or 1)
        return self._next_number

    async def _one(self, query: Select[Any], params: dict[str, Any]) -> Model | None:
        row = (await self._conn.execute(query, params)).first()
        return None if row is None else self.codec.from_row(row)

    async def _select(
        self, *where: ColumnElement[bool], limit: int, beyond: int | None = None
    ) -> builtins.list[Model]:
        """By number (descending when newest first), past the number `beyond`."""
        number = self.codec.table.c.number
        if beyond is not None:
            where = (*where, number < beyond if self.newest_first else number > beyond)
        query = (
            select(*self.codec.columns)
            .where(*where)
            .order_by(number.desc() if self.newest_first else number)
            .limit(limit)
        )
        return [self.codec.from_row(row) for row in await self._conn.execute(query)]

    async def _count_by_status(self, statuses: Iterable[str]) -> dict[str, int]:
        status = self.codec.table.c.status
        counts = dict.fromkeys(statuses, 0)
        query = select(status, func.count()).group_by(status)
        for name, count in await self._conn.execute(query):
            counts[name] = count
        return counts


# The due ordering (domain/todo_filter.py): blank days last, blank times first on a day.
_DUE_DAY = func.coalesce(todos.c.due, literal(LAST_DAY, Date))
_DUE_INSTANT = func.coalesce(todos.c.due_at, literal(FIRST_INSTANT, UtcDateTime))


class CoreTodos(CoreRows[Todo]):
    codec = TODO_ROWS

    async def list(self, status: str | None = None, limit: int = 100) -> builtins.list[Todo]:
        if status is None:
            return await self._select(limit=limit)
        return await self._select(todos.c.status == status, limit=limit)

    async def find(self, filter: TodoFilter, after: Key | None, limit: int) -> builtins.list[Todo]:
        where = self._kept_by(filter)
        if filter.sort == "number":
            return await self._select(
                *where, limit=limit, beyond=None if after is None else _number(after)
            )
        if after is not None:
            day, moment, number = sort_key(after)
            where.append(
                tuple_(_DUE_DAY, _DUE_INSTANT, todos.c.number)
                > tuple_(literal(day, Date), literal(moment, UtcDateTime), literal(number, Integer))
            )
        query = (
            select(*self.codec.columns)
            .where(*where)
            .order_by(_DUE_DAY, _DUE_INSTANT, todos.c.number)
            .limit(limit)
        )
        return [self.codec.from_row(row) for row in await self._conn.execute(query)]

    async def count(self, filter: TodoFilter) -> int:
        query = select(func.count()).select_from(todos).where(*self._kept_by(filter))
        return int(await self._conn.scalar(query) or 0)

    def _kept_by(self, filter: TodoFilter) -> builtins.list[ColumnElement[bool]]:
        where: builtins.list[ColumnElement[bool]] = []
        if filter.status is not None:
            where.append(todos.c.status == filter.status)
        if filter.tag is not None:
            where.append(self._tagged(filter.tag))
        if filter.priority is not None:
            where.append(todos.c.priority == filter.priority)
        if filter.due_before is not None:
            where.append(todos.c.due < filter.due_before)
        if filter.due_after is not None:
            where.append(todos.c.due > filter.due_after)
        return where

    def _tagged(self, tag: str) -> ColumnElement[bool]:
        """The todo's tags (a JSON array) hold this one."""
        if self._conn.dialect.name == "postgresql":  # JSONB containment
            return todos.c.tags.op("@>")(func.jsonb_build_array(literal(tag, String)))
        each = func.json_each(todos.c.tags).table_valued("value")
        return exists(select(1).select_from(each).where(each.c.value == tag))

    async def count_by_status(self) -> dict[str, int]:
        return await self._count_by_status(TODO_STATUSES)


class CoreNotes(CoreRows[Note]):
    codec = NOTE_ROWS
    newest_first = True

    async def list(
        self,
        search: str | None = None,
        limit: int = 100,
        status: str | None = "active",
        *,
        before: int | None = None,
    ) -> builtins.list[Note]:
        return await self._select(*self._kept_by(search, status), limit=limit, beyond=before)

    async def count(self, status: str | None = "active", search: str | None = None) -> int:
        query = select(func.count()).select_from(notes).where(*self._kept_by(search, status))
        return int(await self._conn.scalar(query) or 0)

    @staticmethod
    def _kept_by(search: str | None, status: str | None) -> builtins.list[ColumnElement[bool]]:
        """Title or content contains `search`, ignoring case; `%`, `_` and `/` in it are
        literal (autoescape escapes them for LIKE)."""
        where = [] if status is None else [notes.c.status == status]
        needle = (search or "").casefold()
        if needle:
            where.append(
                or_(
                    notes.c.title_folded.contains(needle, autoescape=True),
                    notes.c.content_folded.contains(needle, autoescape=True),
                )
            )
        return where


class CoreTracks(CoreRows[Track]):
    codec = TRACK_ROWS

    async def list(
        self, status: str | None = None, limit: int = 100, *, after: int | None = None
    ) -> builtins.list[Track]:
        where = [] if status is None else [tracks.c.status == status]
        return await self._select(*where, limit=limit, beyond=after)

    async def count_by_status(self) -> dict[str, int]:
        return await self._count_by_status(TRACK_STATUSES)


class CoreDecisions(CoreRows[Decision]):
    codec = DECISION_ROWS
    newest_first = True

    async def list(
        self, status: str | None = None, limit: int = 100, *, before: int | None = None
    ) -> builtins.list[Decision]:
        where = [] if status is None else [decisions.c.status == status]
        return await self._select(*where, limit=limit, beyond=before)

    async def count_by_status(self) -> dict[str, int]:
        return await self._count_by_status(DECISION_STATUSES)


def _number(after: Key) -> int:
    """The number a cursor of the number order was made at."""
    number = after[0]
    assert isinstance(number, int), "a cursor of the number order holds a number"
    return number
