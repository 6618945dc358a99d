"""aiosqlite under SQLAlchemy: the driver connection, and several statements in one trip.

SQLAlchemy's aiosqlite adapter costs up to four trips to the driver's thread per
statement (open a cursor, execute, fetch, close), and each trip waits for the event loop
to come round, behind whatever the HTTP side has queued. The SQLite backend's hot
statements therefore go to the aiosqlite connection itself (`driver_of`), with its public
one-trip calls (`execute_fetchall`, `executemany`, `commit`).

`in_driver_thread` is the one use of aiosqlite's private API in the project: aiosqlite
has no public call that runs several statements in one trip, and every public call runs
through `Connection._execute(function, ...)` with the sqlite3 connection `_conn`. It is
confined to this module, and tests/integration/test_sqlite_driver.py pins what it relies
on (it runs in the driver's thread, in order with the public calls, on the same sqlite3
connection, and raises what the function raises).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

T = TypeVar("T")

# Where driver_of keeps the aiosqlite connection: in the pooled connection's `info`,
# which lives as long as the DBAPI connection and is cleared when the pool replaces it.
_DRIVER_KEY = "helionyx.aiosqlite"


async def driver_of(conn: AsyncConnection) -> Any:
    """The aiosqlite connection under a SQLAlchemy one. Asking SQLAlchemy for it costs a
    greenlet switch, and the hot paths need it for every statement: it is asked once per
    pooled connection and kept in the connection's `info`."""
    if not conn.invalidated:
        driver = conn.info.get(_DRIVER_KEY)
        if driver is not None:
            return driver
    driver = (await conn.get_raw_connection()).driver_connection
    conn.info[_DRIVER_KEY] = driver
    return driver


async def in_driver_thread(driver: Any, function: Callable[..., T], *args: Any) -> T:
    """`function(sqlite3_connection, *args)` in aiosqlite's thread, in one trip."""
    result: T = await driver._execute(function, driver._conn, *args)
    return result
