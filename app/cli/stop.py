"""`make stop ENV=`: stop the tier's service the way SIGTERM stops it (in-flight requests
finish, the last digest is written, exit 0), found through its run file."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time

from app.container import Container
from app.run_file import run_file_path, running_instance
from app.settings import Settings

COMMAND = "stop"


async def cmd_stop(_: Container, settings: Settings, args: argparse.Namespace) -> int:
    path = run_file_path(settings)
    running = running_instance(path)
    if running is None:
        print(f"stop: the {settings.tier} service is not running (no live {path.name})")
        return 0
    os.kill(running.pid, signal.SIGTERM)
    deadline = time.monotonic() + settings.service.grace_period_s + args.wait_s
    while running.alive:
        if time.monotonic() > deadline:
            print(
                f"stop: pid {running.pid} is still running after SIGTERM; see its log, "
                f"or `kill -9 {running.pid}` (nothing acknowledged is lost)",
                file=sys.stderr,
            )
            return 1
        await asyncio.sleep(0.1)
    print(f"stop: the {settings.tier} service (pid {running.pid}, port {running.port}) has stopped")
    return 0


def add_parser(sub) -> None:
    command = sub.add_parser(COMMAND, help="stop the tier's running service (SIGTERM)")
    command.add_argument(
        "--wait-s",
        type=float,
        default=10.0,
        help="how long past the grace period to wait for it to exit",
    )
