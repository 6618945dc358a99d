"""Operator commands: `python -m app.cli <command> --env <tier>` (the Makefile calls these)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable

from app.config import ConfigError, load_settings
from app.container import Container, build_container, close_container
from app.settings import Settings
from infrastructure import migrate as migrations
from infrastructure.database import describe


async def cmd_migrate(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    await migrations.upgrade(container.engine(), settings.tier)
    state = await container.readiness().state()
    print(f"{settings.tier}: {describe(settings.database_url)} at revision {state.revision}")
    return 0


async def cmd_verify(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    report = await container.event_log().verify()
    if report.intact:
        print(f"chain intact: {report.count} events, head seq {report.last_seq}, "
              f"head hash {report.head_hash}")
        return 0
    print(f"chain BROKEN at seq {report.first_bad_seq}: {report.problem} "
          f"({report.count} events verified before it)", file=sys.stderr)
    return 1


async def cmd_config(_: Container, settings: Settings, __: argparse.Namespace) -> int:
    print(json.dumps(settings.redacted(), indent=2))
    return 0


COMMANDS: dict[str, Callable[[Container, Settings, argparse.Namespace], Awaitable[int]]] = {
    "migrate": cmd_migrate,
    "verify": cmd_verify,
    "config": cmd_config,
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="helionyx", description="Helionyx operator commands.")
    root.add_argument("--env", help="tier: dev, staging or live (default: $ENV or dev)")
    sub = root.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the tier's database schema to head")
    sub.add_parser("verify", help="recompute the event hash chain")
    sub.add_parser("config", help="print the effective configuration, secrets redacted")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings(args.env)
    except ConfigError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 2
    return asyncio.run(_run(args, settings))


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    container = build_container(settings)
    try:
        return await COMMANDS[args.command](container, settings, args)
    except migrations.TierMismatchError as e:
        print(f"helionyx: {e}", file=sys.stderr)
        return 3
    finally:
        await close_container(container)


if __name__ == "__main__":
    sys.exit(main())
