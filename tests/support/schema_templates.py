"""Databases at the latest schema for tests, copied from one migrated per test process.

Running the migrations costs a test ~60 ms on a SQLite file and ~150 ms on PostgreSQL,
more on a busy machine; copying a migrated database costs a file copy or a
`CREATE DATABASE ... TEMPLATE`. So each test process (pytest-xdist worker) migrates one
template per tier the first time a test asks for it, from this checkout's migrations,
and removes it when it ends: no two processes share a template and none outlives the
code that made it.

A copy is what `alembic upgrade head` would have made, but for the log's id
(`helionyx_meta` `log_id`), which the migration draws at random: every copy draws its
own, or two tests' logs would share one file of digests (infrastructure/digest_file.py).

Tests of the migrations themselves start from an empty database (the `engine`
fixture) and run alembic.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from infrastructure.database import create_engine
from infrastructure.migrate import upgrade

TEMPLATE_PREFIX = "helionyx_template_"


class SchemaTemplates:
    """This process's migrated templates: SQLite files in a directory of its own, and
    PostgreSQL databases on the test server (`admin_url`, when one is configured)."""

    def __init__(self, admin_url: str | None) -> None:
        self._admin = make_url(admin_url) if admin_url else None
        self._directory: Path | None = None
        self._sqlite: dict[str, Path] = {}
        self._postgres: dict[str, str] = {}  # tier -> template database's name
        self._process = uuid.uuid4().hex[:8]

    def copy_sqlite(self, tier: str, path: Path) -> None:
        """A SQLite file at `path` (none there yet) at the latest schema of `tier`.
        Synchronous, for fixtures that are (the template is migrated in a thread of its
        own, since a test's event loop may be running)."""
        if tier not in self._sqlite:
            if self._directory is None:
                self._directory = Path(tempfile.mkdtemp(prefix="helionyx-test-templates-"))
            template = self._directory / f"{tier}.db"
            migration = _migrate(f"sqlite+aiosqlite:///{template}", tier)
            with ThreadPoolExecutor(1) as thread:
                thread.submit(asyncio.run, migration).result()
            # The last connection's close checkpointed the write-ahead log into the file.
            assert not Path(f"{template}-wal").exists(), "the template's WAL is not merged"
            self._sqlite[tier] = template
        if path.exists():
            raise FileExistsError(f"{path}: a test database is copied only where none is")
        shutil.copyfile(self._sqlite[tier], path)
        with sqlite3.connect(path) as connection:
            connection.execute(_NEW_LOG_ID, (str(uuid.uuid4()),))
        connection.close()

    async def create_postgres(self, tier: str, name: str) -> str:
        """A new database `name` at the latest schema of `tier`; returns its URL."""
        import asyncpg

        admin = self._admin_url()
        if tier not in self._postgres:
            template = f"{TEMPLATE_PREFIX}{self._process}_{tier}"
            await _execute(admin, f'CREATE DATABASE "{template}"')
            await _migrate(_url(admin, template), tier)
            self._postgres[tier] = template
        await _execute(admin, f'CREATE DATABASE "{name}" TEMPLATE "{self._postgres[tier]}"')
        connection = await asyncpg.connect(_dsn(admin.set(database=name)))
        try:
            await connection.execute(_NEW_LOG_ID.replace("?", "$1"), str(uuid.uuid4()))
        finally:
            await connection.close()
        return _url(admin, name)

    async def remove(self) -> None:
        """At the process's end: its templates go (a copy does not depend on them)."""
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)
        for template in self._postgres.values():
            await _execute(self._admin_url(), f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
        self._sqlite.clear()
        self._postgres.clear()

    @property
    def directory(self) -> Path | None:
        """Where the SQLite templates are, once one is made."""
        return self._directory

    @property
    def postgres_names(self) -> list[str]:
        """The PostgreSQL templates' database names."""
        return list(self._postgres.values())

    def _admin_url(self) -> URL:
        if self._admin is None:
            raise RuntimeError("no PostgreSQL test server is configured")
        return self._admin


_NEW_LOG_ID = "UPDATE helionyx_meta SET value = ? WHERE key = 'log_id'"


async def _migrate(url: str, tier: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine, tier)
    finally:
        # No connection may stay open on a PostgreSQL template while it is copied.
        await engine.dispose()


async def _execute(admin: URL, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(_dsn(admin))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def _url(admin: URL, database: str) -> str:
    return admin.set(database=database).render_as_string(hide_password=False)


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
