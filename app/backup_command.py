"""`python -m app.cli --env <tier> backup [--dir DIR]` and `restore FILE [--yes-overwrite]`.

Exit status: 0 done, 1 refused or the backup is not sound (nothing was changed), 2 usage.
Stop the service before a restore; a backup may run while it serves.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from app.container import Container
from app.settings import Settings
from domain.errors import StorageUnavailable
from infrastructure.backup import BackupCorrupt, BackupError, RestoreRefused, backup, restore
from infrastructure.migrate import head_revision
from infrastructure.postgres_roles import RoleSetupError, grant_runtime_role_at


async def cmd_backup(container: Container, settings: Settings,
                     args: argparse.Namespace) -> int:
    directory = args.dir or settings.root / "var" / "backups" / settings.tier
    try:
        # The head, written down outside the database before the copy: the copy holds at
        # least that much, and its manifest carries it.
        digest = await container.integrity().write_digest("backup", force=True)
        result = await backup(settings.database_url, settings.tier, directory,
                              asdict(digest) if digest is not None else None)
    except BackupError as e:
        print(f"backup: {e}", file=sys.stderr)
        return 1
    except StorageUnavailable as e:
        print(f"backup: the {settings.tier} database cannot be read: {e}", file=sys.stderr)
        return 1
    m = result.manifest
    anchored = f"; digest at seq {digest.seq}" if digest is not None else ""
    print(
        f"backup: {result.path} ({m.count} events, head seq {m.last_seq}, head hash "
        f"{m.head_hash}, {m.file_size} bytes, chain verified{anchored}; manifest "
        f"{result.manifest_path.name})"
    )
    return 0


async def cmd_restore(container: Container, settings: Settings,
                      args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"restore: no such backup file: {args.file}", file=sys.stderr)
        return 2
    try:
        # As the tables' owner: a PostgreSQL restore creates and renames databases
        # (infrastructure/backup_postgres.py); the service's role is granted again below.
        result = await restore(
            args.file, settings.migration_database_url, settings.tier,
            overwrite=args.yes_overwrite
        )
    except RestoreRefused as e:
        print(f"restore: refused: {e}. Nothing was changed.", file=sys.stderr)
        return 1
    except BackupCorrupt as e:
        print(
            f"restore: refused, the backup is not sound: {e}. Nothing was changed.", file=sys.stderr
        )
        return 1
    except BackupError as e:
        print(f"restore: {e}", file=sys.stderr)
        return 1
    if result.manifest is None:
        print(
            "restore: note: no manifest next to the backup; its hash chain was checked alone",
            file=sys.stderr,
        )
    try:  # before anything reads the restored database as the service's role
        grants = await grant_runtime_role_at(settings.migration_database_url,
                                             settings.database_url)
    except RoleSetupError as e:
        grants = None
        print(f"restore: restored, but {e}", file=sys.stderr)
    if grants is not None:
        print(grants.summary().replace("roles: ", "restore: ", 1))
    revision = result.restored.revision
    if revision != head_revision():
        print(
            f"restore: note: the restored schema is at {revision}; run "
            f"`make migrate ENV={settings.tier}` before serving",
            file=sys.stderr,
        )
    anchored = await _anchor_restored(container, args.file)
    report = result.restored.report
    replaced = f", replacing {result.replaced_events} events" if result.replaced_events else ""
    if result.backup_tier not in (None, settings.tier):
        replaced += f" (a {result.backup_tier} backup, now fenced to {settings.tier})"
    print(
        f"restore: {settings.tier} database restored from {args.file}{replaced}: "
        f"{report.count} events, head seq {report.last_seq}, head hash {report.head_hash}, "
        f"chain intact{anchored}"
    )
    return 0


async def _anchor_restored(container: Container, file: Path) -> str:
    """A restore may take the log back before digests written since: the operator chose
    that state, so it is accepted (recorded in the digest file, with the digests it
    goes behind) and anchored anew."""
    integrity = container.integrity()
    try:
        audit = await integrity.audit()
        if not audit.intact:
            digest, _ = await integrity.accept(f"restored from {file.name}")
            return (f"; {len(digest.accepts)} later digest(s) recorded as gone behind "
                    f"({(await integrity.digests()).location})")
        await integrity.write_digest("restore", force=True)
    except (StorageUnavailable, OSError) as e:
        return f"; note: no digest written ({e})"
    return ""


def add_parsers(subparsers) -> None:
    command = subparsers.add_parser(
        "backup", help="write a verified copy of the tier's database while it serves"
    )
    command.add_argument(
        "--dir", type=Path, default=None, help="where to write it (default: var/backups/<tier>)"
    )
    command = subparsers.add_parser(
        "restore",
        help="verify a backup, then replace the tier's database with it (stop the service first)",
    )
    command.add_argument("file", type=Path, help="a backup file written by `backup`")
    command.add_argument(
        "--yes-overwrite",
        action="store_true",
        help="replace a database that holds events, or restore another tier's backup",
    )
