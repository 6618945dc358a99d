"""SQLite backups and restores through SQLite's online backup API.

The API copies the database inside one read transaction (all pages in one step); in WAL
mode a reader sees a single commit and does not block writers, so the copy is the
database exactly as of one commit, taken while the service keeps writing.
https://www.sqlite.org/backup.html, https://www.sqlite.org/wal.html#concurrency

Restoring runs the same API the other way, from the backup into the live file. The copy
is one write transaction of SQLite's own, so it is atomic, and it goes through the
target's WAL. Copying a file over the live one and renaming would not be safe: a -wal
file left next to it belongs to the old database and would be replayed onto the new one.

A running service would see its data replaced under it, so a restore first makes sure
no other connection has the file open (`_held_by_another`), and keeps what it replaces:
before the copy, the target goes through `backup` into its own directory
(`helionyx-<tier>-replaced-<time>-seq<N>.sqlite3` and its manifest), a file that
`restore` takes back.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from infrastructure.backup.base import (
    BackupCorrupt,
    BackupError,
    DatabaseSnapshot,
    KeptDatabase,
    RestoreRefused,
    connected,
    event_count,
    record_tier,
    snapshot_of,
)
from infrastructure.sqlite.backend import SQLITE


def database_file(url: str | URL) -> Path:
    path = SQLITE.database_file(make_url(url))
    if path is None:
        raise BackupError("an in-memory SQLite database has nothing to back up or restore")
    return path


async def copy_live(url: str | URL, temporary: Path) -> DatabaseSnapshot:
    """Copy the live database to `temporary` and verify the chain of the copy."""
    source = database_file(url)
    if not source.exists():
        raise BackupError(f"no database at {source}: run `make migrate` first")
    await asyncio.to_thread(_online_copy, source, temporary)
    return await inspect_file(temporary)


async def inspect_file(path: Path) -> DatabaseSnapshot:
    """Verify a SQLite file's pages and its chain without writing to it."""
    await asyncio.to_thread(_quick_check, path)
    url = URL.create("sqlite+aiosqlite", database=_uri(path), query={"mode": "ro", "uri": "true"})
    # Not infrastructure.database.create_engine: that one switches the file to WAL mode,
    # and a backup (whose SHA-256 is recorded) must not be changed by being read.
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            return await snapshot_of(conn)
    except DBAPIError as e:
        raise BackupCorrupt(f"not a readable Helionyx database ({e.orig})") from e
    finally:
        await engine.dispose()


class SqliteRestore:
    """Restore steps for a SQLite target; see the module docstring."""

    def __init__(self, backup: Path, target_url: str | URL) -> None:
        self._backup = backup
        self._target_url = target_url
        self._target = database_file(target_url)

    async def __aenter__(self) -> SqliteRestore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        return None

    async def check_unused(self) -> None:
        if self._target.exists() and await asyncio.to_thread(_held_by_another, self._target):
            raise RestoreRefused(
                f"another process has {self._target} open (the service, or a command such "
                "as backup or verify): stop it first"
            )

    async def verify(self) -> DatabaseSnapshot:
        return await inspect_file(self._backup)

    async def target_events(self) -> tuple[int, str | None]:
        if not self._target.exists():
            return 0, None
        async with connected(self._target_url) as engine, engine.connect() as conn:
            return await event_count(conn)

    async def keep_replaced(
        self, events: int, keep_copy: Callable[[Path], Awaitable[KeptDatabase]]
    ) -> KeptDatabase | None:
        return await keep_copy(self._target.parent) if events else None

    async def install(self, tier: str) -> None:
        self._target.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_copy_into_live, self._backup, self._target)
        async with connected(self._target_url) as engine, engine.begin() as conn:
            await record_tier(conn, tier)


def _online_copy(source: Path, temporary: Path) -> None:
    # mode=rw: a missing source is an error, never a new empty database.
    with (
        closing(sqlite3.connect(f"{_uri(source)}?mode=rw", uri=True, timeout=30)) as src,
        closing(sqlite3.connect(temporary)) as dst,
    ):
        src.backup(dst)  # pages=-1: the whole database in one step, on one snapshot
        # The copy inherits WAL mode from the live file; a backup is better as one
        # self-contained file, so it goes back to a rollback journal.
        dst.execute("PRAGMA journal_mode=DELETE")


def _copy_into_live(backup: Path, target: Path) -> None:
    with (
        closing(sqlite3.connect(f"{_uri(backup)}?mode=ro", uri=True)) as src,
        closing(sqlite3.connect(target, timeout=30)) as dst,
    ):
        src.backup(dst)


def _held_by_another(path: Path) -> bool:
    """Whether another connection has the database open. In WAL mode (the service's) every
    open connection keeps a SHARED lock on the file, and a connection in EXCLUSIVE locking
    mode must take an EXCLUSIVE one before it touches a WAL database (it then keeps the
    WAL index in its own memory): so that lock is refused, after `timeout`, exactly while
    anyone else has the file open. https://www.sqlite.org/wal.html#noshm,
    https://www.sqlite.org/pragma.html#pragma_locking_mode"""
    try:
        with closing(
            sqlite3.connect(f"{_uri(path)}?mode=rw", uri=True, timeout=1, isolation_level=None)
        ) as db:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
            db.execute("BEGIN EXCLUSIVE")
            db.execute("ROLLBACK")
    except sqlite3.OperationalError as e:
        if "locked" in str(e) or "busy" in str(e):
            return True
        raise BackupError(f"cannot open {path} ({e})") from e
    except sqlite3.DatabaseError:
        return False  # not a database: what reads it next says so
    return False


def _quick_check(path: Path) -> None:
    try:
        with closing(sqlite3.connect(f"{_uri(path)}?mode=ro", uri=True)) as db:
            found = [row[0] for row in db.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as e:
        raise BackupCorrupt(f"not a readable SQLite database ({e})") from e
    if found != ["ok"]:
        raise BackupCorrupt(f"SQLite finds the file damaged: {'; '.join(found[:3])}")


def _uri(path: Path) -> str:
    return path.resolve().as_uri()
