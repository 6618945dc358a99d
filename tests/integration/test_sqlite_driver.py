"""What infrastructure/sqlite/driver.py relies on in aiosqlite's private API, pinned:
`in_driver_thread` runs a function with the sqlite3 connection, in aiosqlite's own
thread, in order with the public calls, inside the same transaction, and raises what the
function raises. If an aiosqlite release changes any of this, these fail first."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from infrastructure.sqlite.driver import in_driver_thread


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[Any]:
    async with aiosqlite.connect(tmp_path / "driver.db", isolation_level=None) as connection:
        await connection.execute("CREATE TABLE t (n INTEGER)")
        yield connection


async def test_the_function_gets_the_sqlite3_connection_in_the_drivers_thread(driver):
    seen: dict[str, Any] = {}

    def look(connection: sqlite3.Connection, marker: str) -> str:
        seen["connection"] = connection
        seen["thread"] = threading.get_ident()
        return marker

    assert await in_driver_thread(driver, look, "back") == "back"
    assert isinstance(seen["connection"], sqlite3.Connection)
    assert seen["thread"] != threading.get_ident()  # not the event loop's
    assert seen["thread"] == driver._thread.ident  # aiosqlite's own worker


async def test_it_runs_in_order_with_public_calls_in_one_transaction(driver):
    def insert(connection: sqlite3.Connection, values: list[int]) -> None:
        connection.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])

    await driver.execute("BEGIN IMMEDIATE")
    await driver.execute("INSERT INTO t VALUES (1)")
    await in_driver_thread(driver, insert, [2, 3])
    assert driver.in_transaction  # the function's writes joined the open transaction
    rows = await driver.execute_fetchall("SELECT n FROM t ORDER BY rowid")
    await driver.rollback()
    assert [row[0] for row in rows] == [1, 2, 3]
    assert await driver.execute_fetchall("SELECT count(*) FROM t") == [(0,)]


async def test_it_raises_what_the_function_raises(driver):
    def fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO missing VALUES (1)")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await in_driver_thread(driver, fail)
    assert await driver.execute_fetchall("SELECT 1") == [(1,)]  # and the driver goes on
