"""The operator commands' parser and dispatch: `python -m app.cli --env <tier> <command>`.

Each command is a module of this package; here, what every one shares: the tier's
settings, the container, the check before a command that reads or writes the log, the
audit lines, and one line on stderr for a database that cannot be reached."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError

from app.cli import (
    backup,
    config,
    deploy,
    export,
    import_chatgpt,
    import_log,
    migrate,
    rebuild,
    status,
    stop,
    verify,
)
from app.cli.preflight import database_problem
from app.config import ConfigError, load_settings
from app.container import Container, build_container, close_container
from app.file_modes import keep_private
from app.logging_setup import configure_audit_log
from app.settings import Settings
from infrastructure.connection_problems import explain
from infrastructure.migrate import TierMismatchError

COMMANDS: dict[str, Callable[[Container, Settings, argparse.Namespace], Awaitable[int]]] = {
    migrate.COMMAND: migrate.cmd_migrate,
    verify.VERIFY: verify.cmd_verify,
    verify.ACCEPT: verify.cmd_accept_log,
    rebuild.COMMAND: rebuild.cmd_rebuild,
    import_chatgpt.COMMAND: import_chatgpt.cmd_import_chatgpt,
    status.COMMAND: status.cmd_status,
    stop.COMMAND: stop.cmd_stop,
    backup.BACKUP: backup.cmd_backup,
    backup.RESTORE: backup.cmd_restore,
    export.COMMAND: export.cmd_export,
    import_log.COMMAND: import_log.cmd_import_log,
}


# Checked before they run (app/cli/preflight.py): a missing database is not created, and
# one that a command would write to is refused unless the service could serve it
# (migrated to head, this tier), rather than failing on a missing table.
WRITE_THE_LOG = frozenset({rebuild.COMMAND, import_chatgpt.COMMAND, import_log.COMMAND})
READ_THE_LOG = WRITE_THE_LOG | {verify.VERIFY, verify.ACCEPT, export.COMMAND}
# What they do is written as audit lines on stderr, in the tier's log format (app/audit.py).
AUDITED = frozenset(
    {backup.BACKUP, backup.RESTORE, verify.ACCEPT, export.COMMAND, import_log.COMMAND}
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="helionyx", description="Helionyx operator commands.")
    root.add_argument("--env", help="tier: dev, staging or live (default: $ENV or dev)")
    sub = root.add_subparsers(dest="command", required=True)
    migrate.add_parser(sub)
    verify.add_parsers(sub)
    rebuild.add_parser(sub)
    config.add_parser(sub)
    import_chatgpt.add_parser(sub)
    export.add_parser(sub)
    import_log.add_parser(sub)
    status.add_parser(sub)
    stop.add_parser(sub)
    backup.add_parsers(sub)
    deploy.add_parsers(sub)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    keep_private()  # backups, manifests, digests and a new SQLite file: 0600
    if args.command == verify.VERIFY and args.file is not None:
        return verify.verify_file(args.file)  # offline: no tier, no database
    if args.command in deploy.COMMANDS or (
        args.command in (stop.COMMAND, status.COMMAND) and deploy.deployed_tier(args.env)
    ):
        return deploy.run(args)  # a deployed tier: its own configuration, not the checkout's
    try:
        settings = load_settings(args.env)
    except ConfigError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 2
    if args.command == config.COMMAND:
        return config.print_config(settings)
    if args.command in AUDITED:
        from app.main import secrets_of  # brings uvicorn: only for the commands that audit

        configure_audit_log(
            tier=settings.tier, fmt=settings.logging.format, secrets=secrets_of(settings)
        )
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        if args.command in READ_THE_LOG:
            problem = await database_problem(
                container, settings, writes=args.command in WRITE_THE_LOG
            )
            if problem is not None:
                print(
                    f"{args.command}: the {settings.tier} database is not ready: {problem}. "
                    "Nothing was read or written.",
                    file=sys.stderr,
                )
                return 3
        return await COMMANDS[args.command](container, settings, args)
    except TierMismatchError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 3
    except (DBAPIError, OSError) as e:  # cannot connect, or lost the database on the way
        owner = args.command == migrate.COMMAND and settings.database.migration_url is not None
        print(
            f"{args.command}: "
            + explain(
                e,
                settings.migration_database_url if owner else settings.database_url,
                tier=settings.tier,
                variable="HELIONYX_MIGRATION_DATABASE_URL" if owner else "HELIONYX_DATABASE_URL",
            ),
            file=sys.stderr,
        )
        return 3
    finally:
        await close_container(container)
