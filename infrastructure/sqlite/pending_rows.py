"""Rows a SQLite write transaction holds back until something reads them or it commits."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from infrastructure.sqlite.driver import in_driver_thread
from infrastructure.sqlite.errors import translated


class PendingRows:
    """The event log's and the idempotency records' rows, held until something reads
    those tables or the transaction commits, then written in one trip to the driver's
    thread (one executemany per statement, in the order the rows came), on commit
    together with the COMMIT.

    A group of messages otherwise took a trip for its events, one for their idempotency
    records and one for the COMMIT, and an import one per run of messages between two
    that derive something. Nothing is acknowledged before the commit, so nothing
    acknowledged waits here; a rollback drops what is here. Errors come out of `write`
    and `write_and_commit` translated (infrastructure/sqlite/errors.py)."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver  # the aiosqlite connection of the transaction
        self._rows: dict[str, list[Sequence[Any]]] = {}

    def add(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._rows.setdefault(sql, []).extend(rows)

    async def write(self) -> None:
        if self._rows:
            await self._send(commit=False)

    async def write_and_commit(self) -> None:
        await self._send(commit=True)

    async def _send(self, *, commit: bool) -> None:
        rows, self._rows = self._rows, {}
        with translated("take the writes"):
            await in_driver_thread(self._driver, _write, rows, commit)


def _write(
    connection: sqlite3.Connection, rows: dict[str, list[Sequence[Any]]], commit: bool
) -> None:
    """In the driver's thread."""
    for sql, values in rows.items():
        connection.executemany(sql, values)
    if commit:
        connection.commit()
