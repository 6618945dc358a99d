"""`make stop ENV=`: stop the tier's service the way SIGTERM stops it (in-flight requests
finish, the last digest is written, exit 0), found through its run file."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.run_file import run_file_path, running_instance

if TYPE_CHECKING:
    from app.container import Container
    from app.settings import Settings

COMMAND = "stop"


async def cmd_stop(_: Container, settings: Settings, args: argparse.Namespace) -> int:
    return stop_through_run_file(
        run_file_path(settings),
        tier=settings.tier,
        wait_s=settings.service.grace_period_s + args.wait_s,
    )


def stop_through_run_file(
    path: Path, *, tier: str, wait_s: float, say: Callable[[str], None] = print
) -> int:
    """SIGTERM to the instance the run file names, then wait up to `wait_s` for it to exit
    (the deployed tiers' `make stop` calls this too: app/deploy/service.py). What happened
    goes to `say`, a failure to stderr."""
    running = running_instance(path)
    if running is None:
        say(f"stop: the {tier} service is not running (no live {path.name})")
        return 0
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + wait_s
    while running.alive:
        if time.monotonic() > deadline:
            print(
                f"stop: pid {running.pid} is still running after SIGTERM; see its log, "
                f"or `kill -9 {running.pid}` (nothing acknowledged is lost)",
                file=sys.stderr,
            )
            return 1
        time.sleep(0.1)
    say(f"stop: the {tier} service (pid {running.pid}, port {running.port}) has stopped")
    return 0


def add_parser(sub: Any) -> None:
    command = sub.add_parser(COMMAND, help="stop the tier's running service (SIGTERM)")
    command.add_argument(
        "--wait-s",
        type=float,
        default=10.0,
        help="how long past the grace period to wait for it to exit",
    )
