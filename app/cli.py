"""Operator commands: `python -m app.cli <command> --env <tier>` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

from app import backup_command, import_command, status_command, stop_command, verify_command
from app.config import ConfigError, load_settings
from app.container import Container, build_container, close_container
from app.file_modes import keep_private
from app.logging_setup import configure_audit_log
from app.preflight import database_problem
from app.progress import Progress
from app.settings import Settings
from infrastructure import migrate as migrations
from infrastructure.connection_problems import explain
from infrastructure.database import describe
from infrastructure.rebuild import rebuild_read_models


async def cmd_migrate(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    # As the tables' owner (HELIONYX_MIGRATION_DATABASE_URL, default the service's URL);
    # then, on PostgreSQL, the service's own role gets exactly what it uses.
    try:
        grants = await migrations.migrate(settings.migration_database_url,
                                          settings.database_url, settings.tier)
    except migrations.RoleSetupError as e:
        print(f"migrate: the schema is migrated, but {e}", file=sys.stderr)
        return 3
    state = await container.readiness().state()
    print(f"{settings.tier}: {describe(settings.database_url)} at revision {state.revision}")
    if grants is not None:
        print(grants.summary())
    elif (warning := await migrations.startup_warning(container.engine())) is not None:
        print(f"roles: WARNING: {warning}", file=sys.stderr)  # one role for both
    return 0


async def cmd_rebuild(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    total = (await container.event_log().head()).count
    started = time.perf_counter()
    with Progress("rebuild", total=total) as progress:
        report = await rebuild_read_models(container.uow_factory(), progress=progress.advance)
    elapsed = time.perf_counter() - started
    rate = report.events / elapsed if elapsed > 0 else 0.0
    print(f"read models rebuilt from {report.events} events in {elapsed:.2f} s "
          f"({rate:,.0f} events/s): {report.todos} todos, {report.notes} notes, "
          f"{report.tracks} tracks, {report.decisions} decisions, "
          f"{report.idempotency} idempotency records")
    return 0


def print_config(settings: Settings) -> int:
    """Reads the configuration only: no database, no file written."""
    print(json.dumps(settings.redacted(), indent=2))
    return 0


COMMANDS: dict[str, Callable[[Container, Settings, argparse.Namespace], Awaitable[int]]] = {
    "migrate": cmd_migrate,
    verify_command.VERIFY: verify_command.cmd_verify,
    verify_command.ACCEPT: verify_command.cmd_accept_log,
    "rebuild": cmd_rebuild,
    import_command.COMMAND: import_command.cmd_import_chatgpt,
    status_command.COMMAND: status_command.cmd_status,
    stop_command.COMMAND: stop_command.cmd_stop,
    "backup": backup_command.cmd_backup,
    "restore": backup_command.cmd_restore,
}


# Checked before they run (app/preflight.py): a missing database is not created, and one
# that a command would write to is refused unless the service could serve it (migrated
# to head, this tier), rather than failing on a missing table.
WRITE_THE_LOG = frozenset({"rebuild", import_command.COMMAND})
READ_THE_LOG = WRITE_THE_LOG | {verify_command.VERIFY, verify_command.ACCEPT}
# What they do is written as audit lines on stderr, in the tier's log format (app/audit.py).
AUDITED = frozenset({"backup", "restore", verify_command.ACCEPT})


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="helionyx", description="Helionyx operator commands.")
    root.add_argument("--env", help="tier: dev, staging or live (default: $ENV or dev)")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the tier's database schema to head")
    verify_command.add_parsers(sub)
    sub.add_parser("rebuild", help="replay the events into empty read models")
    sub.add_parser("config", help="print the effective configuration, secrets redacted")
    import_command.add_parser(sub)
    status_command.add_parser(sub)
    stop_command.add_parser(sub)
    backup_command.add_parsers(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    keep_private()  # backups, manifests, digests and a new SQLite file: 0600
    try:
        settings = load_settings(args.env)
    except ConfigError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 2
    if args.command == "config":
        return print_config(settings)
    if args.command in AUDITED:
        from app.main import secrets_of  # brings uvicorn: only for the commands that audit

        configure_audit_log(tier=settings.tier, fmt=settings.logging.format,
                            secrets=secrets_of(settings))
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        if args.command in READ_THE_LOG:
            problem = await database_problem(container, settings,
                                             writes=args.command in WRITE_THE_LOG)
            if problem is not None:
                print(f"{args.command}: the {settings.tier} database is not ready: {problem}. "
                      "Nothing was read or written.", file=sys.stderr)
                return 3
        return await COMMANDS[args.command](container, settings, args)
    except migrations.TierMismatchError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 3
    except (DBAPIError, OSError) as e:  # cannot connect, or lost the database on the way
        owner = args.command == "migrate" and settings.database.migration_url is not None
        print(f"{args.command}: " + explain(
            e, settings.migration_database_url if owner else settings.database_url,
            tier=settings.tier, variable="HELIONYX_MIGRATION_DATABASE_URL" if owner
            else "HELIONYX_DATABASE_URL"), file=sys.stderr)
        return 3
    finally:
        await close_container(container)


if __name__ == "__main__":
    sys.exit(main())
