"""The read models in a PostgreSQL write transaction: their hot statements straight to
asyncpg.

Deriving an object reads the next number, inserts the row and reads it back, and puts
its search entry; a lifecycle change reads a row and updates it. Through SQLAlchemy each
statement costs its execute path (compiled-cache lookup, parameter processing, the
greenlet bridge) besides the round trip: in a profile of `make import-chatgpt` on
PostgreSQL, the 400 derived objects of 20,000 messages took 18.6 % of the import, 63 % of
that in SQLAlchemy's execute. Here each is one asyncpg call on the writer's transaction
(PendingRows.driver), with SQL text built once per table. Read transactions, lists,
counts and search keep the shared Core ones (infrastructure/read_models.py).

A row this transaction wrote is read back from what it wrote, without a trip
(infrastructure/read_models.py `WrittenRows`).

Values go in and come back as the columns' SQLAlchemy types and the engine's codecs
give them (tests/integration/test_read_models_postgres_fast_path.py compares the stored
rows and the errors): UtcDateTime as an aware UTC timestamptz (a naive time is refused,
ValueError), Date as a date, JSONB as `canonical_json` text in and, through the codec
SQLAlchemy's asyncpg dialect sets on every connection, Python values out.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
from sqlalchemy import JSON, Column, Date, Integer, String, Table
from sqlalchemy.ext.asyncio import AsyncConnection

from domain.errors import Conflict
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
from infrastructure.tables import UtcDateTime

Convert = Callable[[Any], Any]


def _stored_time(value: datetime | None) -> datetime | None:
    """As UtcDateTime.process_bind_param writes it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return value.astimezone(UTC)


def _stored_date(value: date | None) -> date | None:
    # A datetime is stored as its date, as by Date.
    if value is None or value.__class__ is date:
        return value
    return date(value.year, value.month, value.day)


def _stored_json(value: Any) -> str:
    return canonical_json(value)


def _read_json(text: str) -> Any:
    return json.loads(text)


def _conversions(column: Column[Any]) -> tuple[Convert | None, Convert | None]:
    """How the column's type writes a value, and how what was written reads back (None:
    as is). A type not named here fails at import, before it could be stored differently."""
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return _stored_time, None  # an aware UTC datetime, as asyncpg reads timestamptz
    if isinstance(kind, Date):
        return _stored_date, None
    if isinstance(kind, JSON):  # JSONB on PostgreSQL (infrastructure/tables.Json)
        return _stored_json, _read_json
    if isinstance(kind, Integer | String):
        return None, None
    raise TypeError(f"{column}: no PostgreSQL conversion for {kind!r}")


class PostgresRows:
    """One read-model table's statements on asyncpg; `get` returns the `selected`
    columns, in order (RowCodec.from_row takes them from there), and so do `insert` and
    `update`, for the row they wrote, as `get` would read it back."""

    def __init__(self, table: Table, selected: Sequence[str]) -> None:
        stored = [column.name for column in table.columns]
        updated = [name for name in stored if name != "id"]
        picked = f"SELECT {', '.join(selected)} FROM {table.name} WHERE"
        self._by_id = f"{picked} id = $1"
        self._by_number = f"{picked} number = $1"
        self._next_number = f"SELECT coalesce(max(number), 0) + 1 FROM {table.name}"
        self._insert = (
            f"INSERT INTO {table.name} ({', '.join(stored)}) "
            f"VALUES ({', '.join(f'${i}' for i in range(1, len(stored) + 1))})"
        )
        # The same values as the INSERT's, the id last.
        self._update = (
            f"UPDATE {table.name} SET "
            f"{', '.join(f'{name} = ${stored.index(name) + 1}' for name in updated)} "
            f"WHERE id = ${stored.index('id') + 1}"
        )
        conversions = [_conversions(table.c[name]) for name in stored]
        self._stored = [(name, write) for name, (write, _) in zip(stored, conversions, strict=True)]
        self._read_back = [
            (stored.index(name), conversions[stored.index(name)][1]) for name in selected
        ]

    async def get(self, driver: asyncpg.Connection, id: str) -> asyncpg.Record | None:
        return await driver.fetchrow(self._by_id, id)

    async def get_by_number(self, driver: asyncpg.Connection, number: int) -> Any:
        return await driver.fetchrow(self._by_number, number)

    async def next_number(self, driver: asyncpg.Connection) -> int:
        return int(await driver.fetchval(self._next_number))

    async def insert(self, driver: asyncpg.Connection, row: Mapping[str, Any]) -> list[Any]:
        """`row` holds every column (RowCodec.to_row)."""
        params = _params(self._stored, row)
        await driver.execute(self._insert, *params)
        return self._as_read(params)

    async def update(
        self, driver: asyncpg.Connection, row: Mapping[str, Any]
    ) -> tuple[int, list[Any]]:
        """Every column of the row with `row["id"]` set from `row`; how many rows changed."""
        params = _params(self._stored, row)
        status = await driver.execute(self._update, *params)
        return int(status.rpartition(" ")[2]), self._as_read(params)  # "UPDATE n"

    def _as_read(self, params: Sequence[Any]) -> list[Any]:
        return [
            params[at] if read is None or params[at] is None else read(params[at])
            for at, read in self._read_back
        ]


def _params(columns: Sequence[tuple[str, Convert | None]], row: Mapping[str, Any]) -> list[Any]:
    return [row[name] if write is None else write(row[name]) for name, write in columns]


class _PostgresRows(DriverRows[Model]):
    """`DriverRows`' statements on the writer's asyncpg connection; a driver error other
    than a unique key taken is raised as it is (the unit of work's DRIVER_ERRORS: the
    database's fault)."""

    rows: PostgresRows

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        cls.rows = PostgresRows(cls.codec.table, cls.codec.names)

    def __init__(self, connection: AsyncConnection, driver: asyncpg.Connection) -> None:
        super().__init__(connection)
        self._driver = driver

    async def _select_by_id(self, id: str) -> asyncpg.Record | None:
        return await self.rows.get(self._driver, id)

    async def _select_by_number(self, number: int) -> asyncpg.Record | None:
        return await self.rows.get_by_number(self._driver, number)

    async def _select_next_number(self) -> int:
        return await self.rows.next_number(self._driver)

    async def _insert(self, obj: Model) -> list[Any]:
        try:
            return await self.rows.insert(self._driver, self.codec.to_row(obj))
        except asyncpg.UniqueViolationError as e:
            raise _taken(self.codec.table.name, obj.number) from e

    async def _update(self, obj: Model) -> tuple[int, list[Any]]:
        try:
            return await self.rows.update(self._driver, self.codec.to_row(obj))
        except asyncpg.UniqueViolationError as e:
            raise _taken(self.codec.table.name, obj.number) from e


def _taken(table: str, number: int) -> Conflict:
    return Conflict(f"{table} {number} is already recorded")  # as CoreRows says it


class PostgresTodos(_PostgresRows[Todo], CoreTodos):
    pass


class PostgresNotes(_PostgresRows[Note], CoreNotes):
    pass


class PostgresTracks(_PostgresRows[Track], CoreTracks):
    pass


class PostgresDecisions(_PostgresRows[Decision], CoreDecisions):
    pass
