"""The SQLite engine, set up for durable appends by several tasks and processes."""

from __future__ import annotations

import json

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from infrastructure.fast_json import canonical_json

# Set on a connection to make its transactions writers (BEGIN IMMEDIATE).
WRITE_OPTION = "helionyx_write"
# Set by the unit of work, which sends BEGIN / BEGIN IMMEDIATE to the driver itself
# (infrastructure/sqlite/unit_of_work.py): SQLAlchemy then emits nothing to begin.
BEGUN_BY_CALLER = "helionyx_begun_by_caller"


def create_sqlite_engine(url: URL) -> AsyncEngine:
    engine = create_async_engine(
        url,
        json_serializer=canonical_json,
        json_deserializer=json.loads,
        connect_args={"timeout": 30},
        # No ROLLBACK on every return to the pool (a trip to aiosqlite's thread each):
        # the unit of work ends its transaction itself, and rolls back whatever the
        # driver still holds open.
        pool_reset_on_return=None,
    )
    event.listen(engine.sync_engine, "connect", _on_connect)
    event.listen(engine.sync_engine, "begin", _on_begin)
    return engine


def _on_connect(dbapi_connection, _record) -> None:
    set_sqlite_pragmas(dbapi_connection)


def set_sqlite_pragmas(dbapi_connection) -> None:
    """What every SQLite connection of the service is set to (a sqlite3 connection, or
    aiosqlite's adapter of one)."""
    # Take transactions out of the driver's hands so that BEGIN IMMEDIATE below is real:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives power loss in WAL mode; NORMAL only survives a process crash.
    # https://www.sqlite.org/pragma.html#pragma_synchronous
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # REPLACE deletes the old row without firing DELETE triggers unless this is on.
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.close()


def _on_begin(conn) -> None:
    # A writer takes the database's write lock before it reads the chain head, so two
    # writers (tasks or processes) can never both extend the same head.
    options = conn.get_execution_options()
    if options.get(BEGUN_BY_CALLER):
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION) else "BEGIN")
