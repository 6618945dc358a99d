"""The read models on SQLite: their hot statements straight to the driver.

Deriving an object reads the next number, inserts the row and reads it back; a lifecycle
change reads a row and updates it. Through SQLAlchemy's aiosqlite adapter each statement
costs up to four trips to the driver's thread (infrastructure/sqlite/driver.py says why
that hurts) and a statement built anew; here each is one trip, on the unit of work's
connection and inside its transaction, with SQL text built once per table, and a row the
transaction wrote is read back from what it wrote, with none
(infrastructure/read_models.py `WrittenRows`). Lists, counts and search are the shared
Core ones (infrastructure/read_models.py).

Values are stored as the columns' SQLAlchemy types store them on SQLite and read back as
those types read them, so a row written either way reads the same either way
(tests/integration/test_read_models_sqlite_fast_path.py compares the stored values):
UtcDateTime as naive UTC `YYYY-MM-DD HH:MM:SS.ffffff` (SQLite DATETIME's storage format),
Date as `YYYY-MM-DD`, JSON as `canonical_json` text (the engine's json_serializer,
infrastructure/database.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.objects import Decision, Note, Todo, Track
from infrastructure.fast_json import canonical_json
from infrastructure.read_models import (
    CoreDecisions,
    CoreNotes,
    CoreTodos,
    CoreTracks,
    DriverRows,
    Model,
)
from infrastructure.sqlite.driver import driver_of
from infrastructure.sqlite.errors import translated
from infrastructure.tables import UtcDateTime

Convert = Callable[[Any], Any]


def _stored_time(value: datetime | None) -> str | None:
    """As UtcDateTime.process_bind_param, then SQLite's DATETIME, write it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _read_time(value: str | None) -> datetime | None:
    """As SQLite's DATETIME, then UtcDateTime.process_result_value, read it."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _stored_date(value: date | None) -> str | None:
    # date.isoformat, not value.isoformat: a datetime is stored as its date, as by Date.
    return None if value is None else date.isoformat(value)


def _read_date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _read_json(value: str | None) -> Any:
    return None if value is None else json.loads(value)


def _conversions(column: Column[Any]) -> tuple[Convert | None, Convert | None]:
    """How the column's type writes a value and reads it back on SQLite (None: as is).
    A type not named here fails at import, before it could be stored differently."""
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return _stored_time, _read_time
    if isinstance(kind, Date):
        return _stored_date, _read_date
    if isinstance(kind, JSON):
        return canonical_json, _read_json
    if isinstance(kind, Integer | String):
        return None, None
    raise TypeError(f"{column}: no SQLite conversion for {kind!r}")


class SqliteRows:
    """One read-model table's statements; `get` returns the `selected` columns, in order,
    as Python values (RowCodec.from_row takes them from there)."""

    def __init__(self, table: Table, selected: Sequence[str]) -> None:
        stored = [column.name for column in table.columns]
        updated = [name for name in stored if name != "id"]
        picked = f"SELECT {', '.join(selected)} FROM {table.name} WHERE"
        self._by_id = f"{picked} id = ?"
        self._by_number = f"{picked} number = ?"
        self._next_number = f"SELECT coalesce(max(number), 0) + 1 FROM {table.name}"
        self._insert = (
            f"INSERT INTO {table.name} ({', '.join(stored)}) "
            f"VALUES ({', '.join('?' * len(stored))})"
        )
        self._update = (
            f"UPDATE {table.name} SET {', '.join(f'{n} = ?' for n in updated)} WHERE id = ?"
        )
        self._inserted = [(name, _conversions(table.c[name])[0]) for name in stored]
        self._updated = [(name, _conversions(table.c[name])[0]) for name in [*updated, "id"]]
        self._readers = [_conversions(table.c[name])[1] for name in selected]
        self._selected_at = [stored.index(name) for name in selected]

    async def get(self, driver: Any, id: str) -> list[Any] | None:
        return await self._one(driver, self._by_id, id)

    async def get_by_number(self, driver: Any, number: int) -> list[Any] | None:
        return await self._one(driver, self._by_number, number)

    async def next_number(self, driver: Any) -> int:
        return int((await _fetch(driver, self._next_number, ()))[0][0])

    async def insert(self, driver: Any, row: Mapping[str, Any]) -> list[Any]:
        """`row` holds every column (RowCodec.to_row); returns the selected columns as
        `get` would read them back."""
        params = _params(self._inserted, row)
        await _change(driver, self._insert, params)
        return self._as_read(params)

    async def update(self, driver: Any, row: Mapping[str, Any]) -> tuple[int, list[Any]]:
        """Every column of the row with `row["id"]` set from `row`: how many rows changed,
        and the selected columns as `get` would read them back."""
        changed = await _change(driver, self._update, _params(self._updated, row))
        return changed, self._as_read(_params(self._inserted, row))

    def _as_read(self, stored: Sequence[Any]) -> list[Any]:
        return [
            stored[at] if read is None else read(stored[at])
            for read, at in zip(self._readers, self._selected_at, strict=True)
        ]

    async def _one(self, driver: Any, sql: str, key: Any) -> list[Any] | None:
        rows = await _fetch(driver, sql, (key,))
        if not rows:
            return None
        return [
            value if read is None else read(value)
            for read, value in zip(self._readers, rows[0], strict=True)
        ]


def _params(columns: Sequence[tuple[str, Convert | None]], row: Mapping[str, Any]) -> list[Any]:
    return [row[name] if write is None else write(row[name]) for name, write in columns]


async def _fetch(driver: Any, sql: str, params: Sequence[Any]) -> list[Any]:
    return list(await driver.execute_fetchall(sql, params))


async def _change(driver: Any, sql: str, params: Sequence[Any]) -> int:
    """The statement has run to its end, so its cursor holds nothing worth a trip to
    close, and its rowcount is read without one."""
    return (await driver.execute(sql, params)).rowcount


class _SqliteRows(DriverRows[Model]):
    """`DriverRows`' statements on the driver, one trip each; StorageUnavailable when the
    database fails (infrastructure/sqlite/errors.py)."""

    rows: SqliteRows
    _conn: AsyncConnection

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.rows = SqliteRows(cls.codec.table, cls.codec.names)

    async def _select_by_id(self, id: str) -> list[Any] | None:
        with translated("answer"):
            return await self.rows.get(await driver_of(self._conn), id)

    async def _select_by_number(self, number: int) -> list[Any] | None:
        with translated("answer"):
            return await self.rows.get_by_number(await driver_of(self._conn), number)

    async def _select_next_number(self) -> int:
        with translated("answer"):
            return await self.rows.next_number(await driver_of(self._conn))

    async def _insert(self, obj: Model) -> list[Any]:
        row = self.codec.to_row(obj)
        with translated("take the change", taken=f"{self.codec.table.name} {obj.number}"):
            return await self.rows.insert(await driver_of(self._conn), row)

    async def _update(self, obj: Model) -> tuple[int, list[Any]]:
        row = self.codec.to_row(obj)
        with translated("take the change", taken=f"{self.codec.table.name} {obj.number}"):
            return await self.rows.update(await driver_of(self._conn), row)


class SqliteTodos(_SqliteRows[Todo], CoreTodos):
    pass


class SqliteNotes(_SqliteRows[Note], CoreNotes):
    pass


class SqliteTracks(_SqliteRows[Track], CoreTracks):
    pass


class SqliteDecisions(_SqliteRows[Decision], CoreDecisions):
    pass
