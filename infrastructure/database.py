"""Engines for SQLite (dev) and PostgreSQL (staging, live), set up for durable appends."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from infrastructure.fast_json import canonical_json

WRITE_OPTION = "helionyx_write"
# Set by a unit of work that sends BEGIN / BEGIN IMMEDIATE itself, straight to the driver
# (infrastructure/sqlite_rows.py): one trip to aiosqlite's thread instead of three.
BEGUN_BY_CALLER = "helionyx_begun_by_caller"


def create_engine(url: str | URL, *, pool_size: int = 5) -> AsyncEngine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        return _postgres_engine(url, pool_size)
    raise ValueError(f"unsupported database {url.get_backend_name()!r}: use SQLite or PostgreSQL")


def _sqlite_engine(url: URL) -> AsyncEngine:
    engine = create_async_engine(
        url, json_serializer=canonical_json, json_deserializer=json.loads,
        connect_args={"timeout": 30},
        # No ROLLBACK on every return to the pool (a trip to aiosqlite's thread each):
        # the unit of work ends its transaction itself, and rolls back whatever the
        # driver still holds open (infrastructure/unit_of_work.py, _close).
        pool_reset_on_return=None,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection, _record) -> None:
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


def _sqlite_on_begin(conn) -> None:
    # A writer takes the database's write lock before it reads the chain head, so two
    # writers (tasks or processes) can never both extend the same head.
    options = conn.get_execution_options()
    if options.get(BEGUN_BY_CALLER):
        return
    if options.get(WRITE_OPTION):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _postgres_engine(url: URL, pool_size: int) -> AsyncEngine:
    return create_async_engine(
        url,
        json_serializer=canonical_json,
        json_deserializer=json.loads,
        pool_size=pool_size,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {"synchronous_commit": "on", "application_name": "helionyx"}
        },
    )


def make_room_for(url: str | URL) -> None:
    """The directory a new SQLite database goes into (`make migrate` creates the file).
    Nothing else creates it: a command that only reads must leave the disk as it was."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


def describe(url: str | URL) -> str:
    """The database named for logs: dialect and place, never the password, also not one
    given as a query key (asyncpg takes ?password=...)."""
    url = make_url(url)
    query = {key: ("***" if "password" in key.lower() else value)
             for key, value in url.query.items()}
    return url.set(query=query).render_as_string(hide_password=True)


def url_passwords(url: str | URL) -> list[str]:
    """Every password a URL carries, so that logs can mask them."""
    url = make_url(url)
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if "password" in key.lower():
            found += [value] if isinstance(value, str) else list(value)
    return found


def cause(error: BaseException) -> str:
    """The driver's own words (`database or disk is full`), without SQLAlchemy's wrapping:
    for logs and for a 503's detail (it names our outage, never a secret)."""
    found = getattr(error, "orig", None) or error
    return f"{type(found).__name__}: {found}".splitlines()[0][:300]
