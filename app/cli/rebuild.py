"""`make rebuild ENV=<tier>`: replay the event log into empty read models."""

from __future__ import annotations

import argparse
import time

from app.cli.progress import Progress
from app.container import Container
from app.settings import Settings
from infrastructure.rebuild import rebuild_read_models

COMMAND = "rebuild"


async def cmd_rebuild(container: Container, settings: Settings, _: argparse.Namespace) -> int:
    total = (await container.event_log().head()).count
    started = time.perf_counter()
    with Progress(COMMAND, total=total) as progress:
        report = await rebuild_read_models(container.uow_factory(), progress=progress.advance)
    elapsed = time.perf_counter() - started
    rate = report.events / elapsed if elapsed > 0 else 0.0
    print(
        f"read models rebuilt from {report.events} events in {elapsed:.2f} s "
        f"({rate:,.0f} events/s): {report.todos} todos, {report.notes} notes, "
        f"{report.tracks} tracks, {report.decisions} decisions, "
        f"{report.idempotency} idempotency records"
    )
    return 0


def add_parser(sub) -> None:
    sub.add_parser(COMMAND, help="replay the events into empty read models")
