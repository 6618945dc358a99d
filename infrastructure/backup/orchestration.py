"""Backup and restore of a tier's database, with the hash chain checked at every step.

`backup` copies the live database consistently while the service runs (the backend's
`copy_live`: SQLite's online backup API, or pg_dump on an exported snapshot), verifies
the chain of exactly what was copied, and writes
`helionyx-<tier>-<UTC time>-seq<N>.<sqlite3|dump>` and its `.manifest.json`
(manifest.Manifest).

`restore` refuses while another process has a SQLite target open, checks the file
against its manifest (when there is one), verifies the chain of the backup before
anything is touched, refuses to replace a database holding events or to restore another
tier's backup without `overwrite`, keeps the database it replaces (a backup of its own
next to a SQLite file, `helionyx-<tier>-replaced-...`; the old PostgreSQL database
renamed), replaces the database, then verifies the result against the backup. How each
database is replaced and kept, and why, is in infrastructure/sqlite/backup.py and
infrastructure/postgres/backup.py (the backend's `restore_steps`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.chain import ChainReport
from infrastructure.backends import Backend, backend_for, backend_of_backup
from infrastructure.backup.base import (
    BackupCorrupt,
    BackupError,
    DatabaseSnapshot,
    KeptDatabase,
    RestoreRefused,
    connected,
    snapshot_of,
)
from infrastructure.backup.manifest import (
    Manifest,
    backup_name,
    free_path,
    publish,
    read_manifest,
    sha256_of,
    write_manifest,
)

__all__ = ["BackupCorrupt", "BackupError", "KeptDatabase", "RestoreRefused", "backup", "restore"]

REPLACED = "replaced"  # the label of the copy a restore keeps of the database it replaces


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: Manifest


@dataclass(frozen=True)
class RestoreResult:
    backup: DatabaseSnapshot
    restored: DatabaseSnapshot
    replaced_events: int
    manifest: Manifest | None
    backup_tier: str | None
    kept: KeptDatabase | None  # the replaced database, when it held events


async def backup(
    live: str | URL | AsyncEngine,
    tier: str,
    directory: Path,
    digest: dict | None = None,
    *,
    configuration: dict | None = None,
    label: str = "",
    keep_broken: bool = False,
) -> BackupResult:
    """`live`: the database to copy, as the engine the caller already has on it (the
    container's), or its URL (an engine of its own for the copy). `digest`: the log's
    last digest, written just before the copy; `configuration`: the effective one with
    secrets masked; both go into the manifest. `keep_broken`: write the copy of a broken
    chain too, with the problem in its manifest (for the copy a restore keeps of the
    database it replaces: evidence must not stop the repair)."""
    backend = backend_for(live.url if isinstance(live, AsyncEngine) else live)
    form = backend.backup_format
    created_at = datetime.now(UTC)
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    temporary = directory / f".helionyx-{uuid.uuid4().hex}.partial"
    try:
        async with _engine_on(live) as engine:
            state = await _translated(backend.copy_live(engine, temporary))
        report = state.report
        if not report.intact and not keep_broken:
            raise BackupCorrupt(
                f"the {tier} database's chain is broken at seq "
                f"{report.first_bad_seq} ({report.problem}); no backup was "
                "written: run `make verify`",
                report.first_bad_seq,
            )
        recorded_tier = state.tier or tier
        path = free_path(
            directory,
            backup_name(recorded_tier, created_at, report.last_seq, form.extension, label),
        )
        sha256 = await asyncio.to_thread(sha256_of, temporary)
        size = temporary.stat().st_size
        await asyncio.to_thread(publish, temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    manifest = Manifest(
        tier=recorded_tier,
        dialect=backend.name,
        format=form.name,
        created_at=created_at.isoformat(timespec="seconds"),
        count=report.count,
        last_seq=report.last_seq,
        head_hash=report.head_hash,
        schema_revision=state.revision,
        file_name=path.name,
        file_size=size,
        sha256=sha256,
        consistency=form.consistency,
        digest=digest,
        configuration=configuration,
        chain_problem=None if report.intact else _problem(report),
    )
    return BackupResult(path, await asyncio.to_thread(write_manifest, path, manifest), manifest)


async def restore(
    path: Path, url: str, tier: str, *, overwrite: bool = False, configuration: dict | None = None
) -> RestoreResult:
    """`configuration` goes into the manifest of the copy kept of a replaced SQLite file."""
    manifest = await asyncio.to_thread(read_manifest, path)
    kind = _backend_of(path).name
    target = backend_for(url)
    if manifest is not None and manifest.dialect != kind:
        raise BackupCorrupt(
            f"the manifest describes a {manifest.dialect} backup, the file is a {kind} one"
        )
    if kind != target.name:
        raise RestoreRefused(f"a {kind} backup cannot be restored into {target.name}")
    async with target.restore_steps(path, url) as steps:
        await _translated(steps.check_unused())
        state = await _translated(steps.verify())
        _check_backup(state, manifest)
        events, _ = await _translated(steps.target_events())
        _confirm(state, manifest, tier, events, overwrite)
        keep_copy = partial(_keep_copy, url, tier, configuration)
        kept = await _translated(steps.keep_replaced(events, keep_copy))
        await _translated(steps.install(tier))
    async with connected(url) as engine, engine.connect() as conn:
        restored = await _translated(snapshot_of(conn))
    if _head(restored) != _head(state):
        raise BackupError(
            f"after the restore the {tier} database does not match the backup: "
            f"{_describe(restored)} instead of {_describe(state)}"
        )
    return RestoreResult(state, restored, events, manifest, _tier_of(state, manifest), kept)


@asynccontextmanager
async def _engine_on(live: str | URL | AsyncEngine) -> AsyncIterator[AsyncEngine]:
    if isinstance(live, AsyncEngine):
        yield live
    else:
        async with connected(live) as engine:
            yield engine


def _backend_of(path: Path) -> Backend:
    try:
        return backend_of_backup(path)
    except ValueError as e:
        raise BackupCorrupt(str(e)) from e


async def _keep_copy(
    url: str, tier: str, configuration: dict | None, directory: Path
) -> KeptDatabase:
    """The database about to be replaced, as a backup of its own with its manifest."""
    made = await backup(
        url, tier, directory, configuration=configuration, label=REPLACED, keep_broken=True
    )
    return KeptDatabase(
        made.manifest.count, str(made.path), is_file=True, chain_problem=made.manifest.chain_problem
    )


def _check_backup(state: DatabaseSnapshot, manifest: Manifest | None) -> None:
    report = state.report
    if not report.intact:
        raise BackupCorrupt(_problem(report), report.first_bad_seq)
    if manifest is not None and _head(state) != (manifest.count, manifest.head_hash):
        raise BackupCorrupt(
            f"it holds {_describe(state)}, its manifest says "
            f"{manifest.count} events with head hash {manifest.head_hash}"
        )


def _confirm(
    state: DatabaseSnapshot, manifest: Manifest | None, tier: str, events: int, overwrite: bool
) -> None:
    """The two things that need the operator's word: replacing events, crossing tiers."""
    if overwrite:
        return
    if events:
        raise RestoreRefused(
            f"the {tier} database holds {events} events; pass "
            "--yes-overwrite (make restore ... YES=1) to replace them"
        )
    backup_tier = _tier_of(state, manifest)
    if backup_tier is not None and backup_tier != tier:
        raise RestoreRefused(
            f"this is a backup of the {backup_tier} tier, not {tier}; pass "
            f"--yes-overwrite to restore it into {tier} anyway"
        )


async def _translated(step):
    try:
        return await step
    except DBAPIError as e:
        raise BackupError(f"the database refused: {e.orig}") from e
    except OSError as e:
        raise BackupError(str(e)) from e


def _tier_of(state: DatabaseSnapshot, manifest: Manifest | None) -> str | None:
    return state.tier or (manifest.tier if manifest else None)


def _problem(report: ChainReport) -> str:
    return f"its chain is broken at seq {report.first_bad_seq} ({report.problem})"


def _head(state: DatabaseSnapshot) -> tuple[int, str]:
    return state.report.count, state.report.head_hash


def _describe(state: DatabaseSnapshot) -> str:
    return f"{state.report.count} events with head hash {state.report.head_hash}"
