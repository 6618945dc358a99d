"""PostgreSQL backups and restores with pg_dump and pg_restore.

Backup: a REPEATABLE READ transaction exports its snapshot, the chain is verified and its
head read inside that transaction, and `pg_dump --snapshot` dumps that same snapshot. So
the manifest's count and head hash describe the dump exactly, while the service keeps
writing. https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-SNAPSHOT-SYNCHRONIZATION

Restore: pg_restore into a fresh scratch database on the same server, verify the chain
there, then swap names in one transaction (ALTER DATABASE ... RENAME). The old database,
when it holds events, is kept under `<name>_replaced_<UTC time>` (dropped otherwise):
renaming it back is the way to return to it exactly, grants and settings included, and
the restore prints the command that does. Why a swap and not `pg_restore --clean` into
the live database: the copy that was verified is the one that goes live (no second
restore that could differ), nothing a newer schema added is left behind, the replaced
database can be kept whole at no cost, and PostgreSQL refuses the rename while anyone is
connected to the live database, which enforces "stop the service first". The cost: the
restoring role needs CREATEDB and must own the database, so a restore connects as the
tables' owner (the migration URL, HELIONYX_MIGRATION_DATABASE_URL), and the restored
database and everything in it are owned by that role (database-level grants and settings
of the replaced one are not carried over; ownership and grants inside are dropped:
--no-owner --no-acl): the restore command grants the service's role again
(infrastructure/postgres/roles.py). A backup needs no more than the service's own role:
pg_dump reads with SELECT, which that role has on every table.

Connection details reach the tools as libpq environment variables, never as arguments,
so a password does not show in `ps`.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

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

_SSL_MODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
_NAME_BYTES = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1)


class ToolFailed(BackupError):
    def __init__(self, tool: str, detail: str) -> None:
        super().__init__(f"{tool} failed: {detail}")
        self.detail = detail


def libpq_environ(url: str | URL) -> dict[str, str]:
    """The process environment plus the URL as PGHOST, PGPORT, PGUSER, PGPASSWORD, ..."""
    url = make_url(url)
    query = {k: v if isinstance(v, str) else v[0] for k, v in url.query.items()}
    ssl = query.get("sslmode") or query.get("ssl")
    if ssl is not None and ssl not in _SSL_MODES:
        ssl = "require" if ssl.lower() in ("true", "1", "on") else None
    values = {
        "PGHOST": url.host or query.get("host"),
        "PGPORT": str(url.port) if url.port else query.get("port"),
        "PGUSER": url.username or query.get("user"),
        "PGPASSWORD": url.password or query.get("password"),
        "PGDATABASE": url.database,
        "PGSSLMODE": ssl,
    }
    return {**os.environ, **{key: str(value) for key, value in values.items() if value}}


async def run_tool(tool: str, *args: str, url: str | URL) -> str:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not on PATH: install the PostgreSQL client tools")
    process = await asyncio.create_subprocess_exec(
        executable,
        *args,
        env=libpq_environ(url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    if process.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise ToolFailed(tool, lines[-1] if lines else f"exit status {process.returncode}")
    return out.decode(errors="replace")


async def dump_live(live: AsyncEngine, temporary: Path) -> DatabaseSnapshot:
    """Dump the database `live` is on to `temporary`, with the chain verified on the same
    snapshot; pg_dump connects as `live` does."""
    url = live.url
    async with live.connect() as conn:
        await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            snapshot_id = (await conn.execute(text("SELECT pg_export_snapshot()"))).scalar_one()
            state = await snapshot_of(conn)
            if state.report.intact:
                await run_tool(
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot_id}",
                    f"--file={temporary}",
                    url=url,
                )
    if state.report.intact:
        await run_tool("pg_restore", "--list", str(temporary), url=url)  # it reads back
    return state


class PostgresRestore:
    """Restore steps for a PostgreSQL target; see the module docstring."""

    def __init__(self, backup: Path, target_url: str | URL) -> None:
        self._backup = backup
        self._target_url = make_url(target_url)
        self._target = str(self._target_url.database)
        # The maintenance connection must not be to either database being renamed.
        maintenance = "template1" if self._target == "postgres" else "postgres"
        self._admin_url = self._target_url.set(database=maintenance)
        # Named after the target, so a scratch database left by a crash says whose it is.
        self._scratch = scratch_name(self._target, "restoring")
        self._scratch_url = self._target_url.set(database=self._scratch)
        self._created = False
        self._keep_as: str | None = None

    async def __aenter__(self) -> PostgresRestore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._created:
            await self._admin(f"DROP DATABASE IF EXISTS {_quote(self._scratch)} WITH (FORCE)")

    async def check_unused(self) -> None:
        """Nothing to do before: the swap in `install` is refused while anyone is connected."""

    async def verify(self) -> DatabaseSnapshot:
        await self._admin(f"CREATE DATABASE {_quote(self._scratch)} TEMPLATE template0")
        self._created = True
        try:
            await run_tool(
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                f"--dbname={self._scratch}",
                str(self._backup),
                url=self._scratch_url,
            )
        except ToolFailed as e:
            raise BackupCorrupt(f"pg_restore cannot restore it ({e.detail})") from e
        async with connected(self._scratch_url) as engine, engine.connect() as conn:
            return await snapshot_of(conn)

    async def target_events(self) -> tuple[int, str | None]:
        if not await self._exists(self._target):
            return 0, None
        async with connected(self._target_url) as engine, engine.connect() as conn:
            return await event_count(conn)

    async def keep_replaced(
        self, events: int, _: Callable[[Path], Awaitable[KeptDatabase]]
    ) -> KeptDatabase | None:
        """Names the database `install` keeps (a copy would cost a second dump)."""
        if not events:
            return None
        stamp = f"{datetime.now(UTC):%Y%m%d_%H%M%S}"
        self._keep_as = await self._free_name(f"replaced_{stamp}")
        aside = await self._free_name(f"restored_{stamp}")
        return KeptDatabase(
            events,
            self._keep_as,
            is_file=False,
            return_command=self._rename_back(self._keep_as, aside),
        )

    async def install(self, tier: str) -> None:
        async with connected(self._scratch_url) as engine, engine.begin() as conn:
            await record_tier(conn, tier)
        replaced = self._keep_as or scratch_name(self._target, "replacing")
        exists = await self._exists(self._target)
        try:
            async with connected(self._admin_url) as engine, engine.begin() as conn:
                if exists:
                    await conn.execute(
                        text(f"ALTER DATABASE {_quote(self._target)} RENAME TO {_quote(replaced)}")
                    )
                await conn.execute(
                    text(f"ALTER DATABASE {_quote(self._scratch)} RENAME TO {_quote(self._target)}")
                )
        except DBAPIError as e:
            if "being accessed by other users" in str(e):
                raise RestoreRefused(
                    f"other sessions are connected to the {self._target} "
                    "database: stop the service first"
                ) from e
            raise
        if exists and self._keep_as is None:
            await self._admin(f"DROP DATABASE IF EXISTS {_quote(replaced)} WITH (FORCE)")

    async def _free_name(self, suffix: str) -> str:
        """`<target>_<suffix>`, cut to PostgreSQL's length, with _2, _3, ... if taken."""
        base = f"{_truncated(self._target, _NAME_BYTES - len(suffix) - 4)}_{suffix}"
        name, number = base, 2
        while await self._exists(name):
            name, number = f"{base}_{number}", number + 1
        return name

    def _rename_back(self, kept: str, aside: str) -> str:
        """The psql command that swaps the kept database back in, as the owner, without a
        password on the command line (psql asks, or reads PGPASSWORD or ~/.pgpass)."""
        environ = libpq_environ(self._admin_url)
        command = ["psql"]
        for option, variable in (("-h", "PGHOST"), ("-p", "PGPORT"), ("-U", "PGUSER")):
            if environ.get(variable):
                command += [option, environ[variable]]
        command += [
            "-d",
            str(self._admin_url.database),
            "--single-transaction",
            "-c",
            f"ALTER DATABASE {_quote(self._target)} RENAME TO {_quote(aside)}",
            "-c",
            f"ALTER DATABASE {_quote(kept)} RENAME TO {_quote(self._target)}",
        ]
        return shlex.join(command)

    async def _exists(self, name: str) -> bool:
        async with connected(self._admin_url) as engine, engine.connect() as conn:
            query = text("SELECT 1 FROM pg_database WHERE datname = :name")
            return (await conn.execute(query, {"name": name})).first() is not None

    async def _admin(self, statement: str) -> None:
        # CREATE and DROP DATABASE cannot run inside a transaction block.
        async with connected(self._admin_url) as engine, engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))


def scratch_name(target: str, purpose: str) -> str:
    """`<target>_<purpose>_<12 random hex digits>`, cut to PostgreSQL's length."""
    suffix = f"_{purpose}_{uuid.uuid4().hex[:12]}"
    return _truncated(target, _NAME_BYTES - len(suffix)) + suffix


def _truncated(name: str, limit: int) -> str:
    return name.encode()[:limit].decode(errors="ignore")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
