"""What every backup shares: errors, the manifest, file names, checksums and chain checks.

A backup is one file plus `<file>.manifest.json` next to it. The manifest records what
the chain looked like when the copy was taken (count, last seq, head hash), the tier, the
time, the schema revision, the last digest, the effective configuration with its secrets
masked (as `make config` prints it), and the file's size and SHA-256, so a restore can
tell a damaged or swapped file from the one that was written.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import ChainReport
from infrastructure.backends import backend_for
from infrastructure.database import create_engine
from infrastructure.durable_files import fsync_directory
from infrastructure.tables import events, helionyx_meta

MANIFEST_SUFFIX = ".manifest.json"
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
_READ_CHUNK = 1 << 20


class BackupError(Exception):
    """Nothing was written or replaced; the message says why."""


class BackupCorrupt(BackupError):
    """The backup is damaged, tampered with, or not the file its manifest describes."""

    def __init__(self, message: str, first_bad_seq: int | None = None) -> None:
        super().__init__(message)
        self.first_bad_seq = first_bad_seq


class RestoreRefused(BackupError):
    """The backup is sound, but restoring it needs the operator's explicit confirmation."""


@dataclass(frozen=True)
class DatabaseSnapshot:
    """A database's event chain as verified, with the tier and revision it records."""

    report: ChainReport
    tier: str | None
    revision: str | None


@dataclass(frozen=True)
class Manifest:
    tier: str
    dialect: str
    format: str
    created_at: str
    count: int
    last_seq: int
    head_hash: str
    schema_revision: str | None
    file_name: str
    file_size: int
    sha256: str
    consistency: str
    # The last digest of the log written outside the database before the copy was taken
    # (domain/integrity.py): the copy must agree with it.
    digest: dict | None = None
    # The effective configuration, secrets masked (Settings.redacted, `make config`).
    configuration: dict | None = None
    # Set only on the copy a restore keeps of a database whose chain was already broken:
    # evidence, which `restore` refuses.
    chain_problem: str | None = None

    def to_json(self) -> str:
        return json.dumps({"helionyx_backup": 1, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, raw: str) -> Manifest:
        try:
            data = json.loads(raw)
            data.pop("helionyx_backup")
            return cls(**data)
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise BackupCorrupt(f"the manifest is not readable ({e})") from e


@dataclass(frozen=True)
class KeptDatabase:
    """The database a restore replaced, kept to return to: a backup file with its manifest
    (SQLite), or the old database renamed (PostgreSQL), with the command that puts it back
    when that is not `restore` of the file."""

    events: int
    location: str
    is_file: bool
    chain_problem: str | None = None
    return_command: str | None = None


@asynccontextmanager
async def connected(url: str | URL) -> AsyncIterator[AsyncEngine]:
    """A short-lived engine on one database (a copy, a scratch database, a restore target),
    disposed on the way out so that no session outlives the step that needed it."""
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()


async def verify_chain(conn: AsyncConnection) -> ChainReport:
    """The backend's own chain check (what `make verify` runs), of the database `conn` is
    on: a copy at rest, or a restore target no one else uses."""
    return await backend_for(conn.engine.url).verify_on(conn)


async def snapshot_of(conn: AsyncConnection) -> DatabaseSnapshot:
    tables = await _tables(conn)
    if events.name not in tables:
        raise BackupCorrupt("no event log in it (no events table)")
    revision = None
    if "alembic_version" in tables:
        revision = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return DatabaseSnapshot(await verify_chain(conn), await _tier(conn, tables), revision)


async def event_count(conn: AsyncConnection) -> tuple[int, str | None]:
    """How many events a (restore target) database holds, and the tier it records."""
    tables = await _tables(conn)
    if events.name not in tables:
        return 0, await _tier(conn, tables)
    seq = (await conn.execute(select(func.max(events.c.seq)))).scalar()
    return int(seq or 0), await _tier(conn, tables)


async def record_tier(conn: AsyncConnection, tier: str) -> None:
    """Fence a restored database to the tier it now serves (helionyx_meta is not an event)."""
    await conn.execute(
        helionyx_meta.update().where(helionyx_meta.c.key == "tier").values(value=tier)
    )


async def _tables(conn: AsyncConnection) -> set[str]:
    return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def _tier(conn: AsyncConnection, tables: set[str]) -> str | None:
    if helionyx_meta.name not in tables:
        return None
    query = select(helionyx_meta.c.value).where(helionyx_meta.c.key == "tier")
    return (await conn.execute(query)).scalar()


def backup_name(tier: str, created_at: datetime, last_seq: int, extension: str,
                label: str = "") -> str:
    kind = f"{label}-" if label else ""
    return f"helionyx-{tier}-{kind}{created_at:%Y%m%dT%H%M%SZ}-seq{last_seq}.{extension}"


def free_path(directory: Path, name: str) -> Path:
    """`name` in `directory`, or `name` with -2, -3, ... if a backup already has it."""
    path = directory / name
    stem, dot, extension = name.partition(".")
    number = 2
    while path.exists():
        path = directory / f"{stem}-{number}{dot}{extension}"
        number += 1
    return path


def manifest_path(backup: Path) -> Path:
    return backup.with_name(backup.name + MANIFEST_SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def publish(temporary: Path, final: Path) -> None:
    """Make a finished file durable, then give it its name in one step: a reader sees the
    whole backup or none (os.replace is atomic within a file system)."""
    with temporary.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(temporary, final)
    fsync_directory(final.parent)


def write_manifest(backup: Path, manifest: Manifest) -> Path:
    path = manifest_path(backup)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(manifest.to_json(), encoding="utf-8")
    publish(temporary, path)
    return path


def read_manifest(backup: Path) -> Manifest | None:
    """The backup's manifest, checked against the file; None when there is none."""
    path = manifest_path(backup)
    if not path.exists():
        return None
    manifest = Manifest.from_json(path.read_text(encoding="utf-8"))
    size = backup.stat().st_size
    if size != manifest.file_size:
        raise BackupCorrupt(
            f"the backup is {size} bytes, its manifest says "
            f"{manifest.file_size}: the file changed after it was written"
        )
    if sha256_of(backup) != manifest.sha256:
        raise BackupCorrupt(
            "the backup's SHA-256 does not match its manifest: "
            "the file changed after it was written"
        )
    return manifest


def backup_dialect(path: Path) -> str:
    """Which database a backup file restores into, from its first bytes."""
    with path.open("rb") as f:
        start = f.read(len(SQLITE_MAGIC))
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise BackupCorrupt("neither a SQLite database nor a pg_dump archive")
