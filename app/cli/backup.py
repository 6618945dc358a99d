"""`python -m app.cli --env <tier> backup [--dir DIR]` and
`restore FILE [--yes-overwrite] [--confirm TIER]`.

Exit status: 0 done, 1 refused or the backup is not sound (nothing was changed), 2 usage.
A backup may run while the service serves; a restore is refused while it runs, keeps
the database it replaces (and prints how to return to it), and on live needs the tier
typed (`--confirm live`): a flag that is the same on every tier is too easy to repeat.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import asdict
from pathlib import Path

from app.audit import audit as audit_line  # `audit` is the integrity audit here
from app.container import Container
from app.run_file import run_file_path, running_instance
from app.settings import Settings
from domain.errors import StorageUnavailable
from infrastructure.backup.orchestration import (
    BackupCorrupt,
    BackupError,
    KeptDatabase,
    RestoreRefused,
    backup,
    restore,
)
from infrastructure.migrate import RoleSetupError, grant_runtime_role_at, head_revision

BACKUP = "backup"
RESTORE = "restore"


async def cmd_backup(container: Container, settings: Settings, args: argparse.Namespace) -> int:
    directory = args.dir or settings.root / "var" / "backups" / settings.tier
    try:
        # The head, written down outside the database before the copy: the copy holds at
        # least that much, and its manifest carries it.
        digest = await container.integrity().write_digest("backup", force=True)
        result = await backup(
            container.engine(),
            settings.tier,
            directory,
            asdict(digest) if digest is not None else None,
            configuration=settings.redacted(),
        )
    except BackupError as e:
        print(f"backup: {e}", file=sys.stderr)
        audit_line("backup.failed", "failed", tier=settings.tier, reason=str(e))
        return 1
    except StorageUnavailable as e:
        print(f"backup: the {settings.tier} database cannot be read: {e}", file=sys.stderr)
        audit_line("backup.failed", "failed", tier=settings.tier, reason="database unreadable")
        return 1
    m = result.manifest
    anchored = f"; digest at seq {digest.seq}" if digest is not None else ""
    print(
        f"backup: {result.path} ({m.count} events, head seq {m.last_seq}, head hash "
        f"{m.head_hash}, {m.file_size} bytes, chain verified{anchored}; manifest "
        f"{result.manifest_path.name})"
    )
    audit_line(
        "backup.written",
        "done",
        tier=settings.tier,
        file=result.path.name,
        events=m.count,
        seq=m.last_seq,
    )
    return 0


async def cmd_restore(container: Container, settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.is_file():
        print(f"restore: no such backup file: {args.file}", file=sys.stderr)
        return 2
    refusal = _refusal(settings, args)
    if refusal is not None:
        print(f"restore: refused: {refusal}. Nothing was changed.", file=sys.stderr)
        audit_line(
            "restore.refused", "refused", tier=settings.tier, file=args.file.name, reason=refusal
        )
        return 1
    try:
        # As the tables' owner: a PostgreSQL restore creates and renames databases
        # (infrastructure/postgres/backup.py); the service's role is granted again below.
        result = await restore(
            args.file,
            settings.migration_database_url,
            settings.tier,
            overwrite=_confirmed(settings, args),
            configuration=settings.redacted(),
        )
    except RestoreRefused as e:
        print(f"restore: refused: {e}. Nothing was changed.", file=sys.stderr)
        audit_line(
            "restore.refused", "refused", tier=settings.tier, file=args.file.name, reason=str(e)
        )
        return 1
    except BackupCorrupt as e:
        print(
            f"restore: refused, the backup is not sound: {e}. Nothing was changed.", file=sys.stderr
        )
        audit_line(
            "restore.refused", "refused", tier=settings.tier, file=args.file.name, reason=str(e)
        )
        return 1
    except BackupError as e:
        print(f"restore: {e}", file=sys.stderr)
        audit_line(
            "restore.failed", "failed", tier=settings.tier, file=args.file.name, reason=str(e)
        )
        return 1
    if result.manifest is None:
        print(
            "restore: note: no manifest next to the backup; its hash chain was checked alone",
            file=sys.stderr,
        )
    try:  # before anything reads the restored database as the service's role
        grants = await grant_runtime_role_at(settings.migration_database_url, settings.database_url)
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
    audit_line(
        "restore.done",
        "done",
        tier=settings.tier,
        file=args.file.name,
        events=report.count,
        seq=report.last_seq,
    )
    if result.kept is not None:
        print(_kept(settings, result.kept))
    return 0


def _refusal(settings: Settings, args: argparse.Namespace) -> str | None:
    """Why the restore must not start, before anything is read: the tier's service runs
    (its run file names a live process holding its port), or live's word is missing."""
    path = run_file_path(settings)
    running = running_instance(path)
    if running is not None:
        return (
            f"the service is running as pid {running.pid} ({path}): stop it first "
            f"with `make stop ENV={settings.tier}`"
        )
    typed = args.confirm
    if typed is not None and typed != settings.tier:
        return (
            f"CONFIRM={typed} does not name the tier being restored ({settings.tier}): "
            f"type CONFIRM={settings.tier}"
        )
    if settings.tier == "live" and typed != "live":
        return (
            f"a restore replaces the live database: type the tier to confirm, "
            f"`make restore ENV=live FILE={shlex.quote(str(args.file))} CONFIRM=live` "
            "(YES=1 is not enough on live)"
        )
    return None


def _confirmed(settings: Settings, args: argparse.Namespace) -> bool:
    """The operator's word to replace events or cross tiers: the tier typed, or YES=1
    below live."""
    return args.confirm == settings.tier or (args.yes_overwrite and settings.tier != "live")


def _kept(settings: Settings, kept: KeptDatabase) -> str:
    held = f"the replaced database ({kept.events} events) is kept"
    if not kept.is_file:
        return (
            f"restore: {held} as the database {kept.location} (drop it once it is not "
            f"needed); to return to it, stop the service and run as the tables' owner: "
            f"{kept.return_command}"
        )
    if kept.chain_problem is not None:
        return (
            f"restore: {held} at {kept.location}, as evidence: {kept.chain_problem}, "
            "so it cannot be restored"
        )
    word = "CONFIRM=live" if settings.tier == "live" else "YES=1"
    return (
        f"restore: {held} at {kept.location} (verified, manifest next to it); to return "
        f"to it: make restore ENV={settings.tier} FILE={shlex.quote(kept.location)} {word}"
    )


async def _anchor_restored(container: Container, file: Path) -> str:
    """A restore may take the log back before digests written since: the operator chose
    that state, so it is accepted (recorded in the digest file, with the digests it
    goes behind) and anchored anew."""
    integrity = container.integrity()
    try:
        audit = await integrity.audit()
        if not audit.intact:
            digest, _ = await integrity.accept(f"restored from {file.name}")
            audit_line(
                "integrity.accepted",
                "done",
                reason=f"restored from {file.name}",
                seq=digest.seq,
                findings=len(digest.accepts),
            )
            return (
                f"; {len(digest.accepts)} later digest(s) recorded as gone behind "
                f"({(await integrity.digests()).location})"
            )
        await integrity.write_digest("restore", force=True)
    except (StorageUnavailable, OSError) as e:
        return f"; note: no digest written ({e})"
    return ""


def add_parsers(subparsers) -> None:
    command = subparsers.add_parser(
        BACKUP, help="write a verified copy of the tier's database while it serves"
    )
    command.add_argument(
        "--dir", type=Path, default=None, help="where to write it (default: var/backups/<tier>)"
    )
    command = subparsers.add_parser(
        RESTORE,
        help="verify a backup, then replace the tier's database with it, keeping the old one "
        "(stop the service first)",
    )
    command.add_argument("file", type=Path, help="a backup file written by `backup`")
    command.add_argument(
        "--yes-overwrite",
        action="store_true",
        help="replace a database that holds events, or restore another tier's backup "
        "(not enough on live: --confirm live)",
    )
    command.add_argument(
        "--confirm",
        metavar="TIER",
        default=None,
        help="the tier being restored, typed as confirmation: required on live, and "
        "enough to replace events on any tier",
    )
