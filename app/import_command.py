"""`python -m app.cli --env <tier> import-chatgpt FILE [--batch-size N]`.

The database is checked first; then the whole file is parsed before anything is stored,
so a bad file stores nothing. Then the messages go through the ordinary ingest service in
batches, one transaction each, in time order; the next batch is prepared while the last
is being written. Each message is keyed by (source, source_id), so running the import
again, or again after an interruption, records only what is missing.

The reported time and rate run from reading the file to the last commit.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.container import Container
from app.gc_tuning import building_large_tree
from app.progress import Progress
from app.settings import Settings
from domain.errors import DomainError
from domain.ingest import BatchItemResult
from infrastructure.chatgpt_export import ChatGPTExport, ChatGPTExportError, read_export

COMMAND = "import-chatgpt"


@dataclass
class ImportSummary:
    export: ChatGPTExport
    recorded: int = 0
    already_present: int = 0
    conflicts: int = 0
    derived: int = 0
    elapsed_s: float = 0.0

    def line(self) -> str:
        export = self.export
        skipped = sum(export.skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(export.skipped.items()))
        processed = self.recorded + self.already_present + self.conflicts
        rate = processed / self.elapsed_s if self.elapsed_s > 0 else 0.0
        parts = [
            f"{export.conversations} conversations",
            f"{export.found} messages found",
            f"{self.recorded} recorded",
            f"{self.already_present} already present",
            f"{skipped} skipped" + (f" ({reasons})" if reasons else ""),
        ]
        if self.conflicts:
            parts.append(f"{self.conflicts} conflicting (recorded before with other content)")
        parts += [
            f"{export.truncated} truncated",
            f"{export.cleaned} cleaned",
            f"{self.derived} derived objects",
            f"{self.elapsed_s:.2f}s",
            f"{rate:.0f} messages/s",
        ]
        return f"{COMMAND}: " + ", ".join(parts)


async def import_export(
    container: Container,
    export: ChatGPTExport,
    *,
    batch_size: int = 500,
    progress: Progress | None = None,
) -> ImportSummary:
    """Batches are written one after another, in time order, one transaction each; the
    next batch is prepared (extraction, keys, events) while the last is being written,
    so the CPU works while the database writes and syncs."""
    summary = ImportSummary(export)
    service = container.ingest_service()
    # Rules only: old messages carry their own prefixes; an LLM call per message of a
    # years-long history would cost more than it finds.
    extractor = container.rules_extractor()
    context = {"channel": "import", "importer": COMMAND}
    started = time.monotonic()
    writing: asyncio.Task[list[BatchItemResult]] | None = None
    try:
        for batch in _batches(export.messages, batch_size):
            prepared = await service.prepare_batch(batch, context=context, extractor=extractor)
            if writing is not None:
                _count(summary, await writing, progress)
            writing = asyncio.create_task(service.record_batch(prepared))
        if writing is not None:
            _count(summary, await writing, progress)
    finally:
        # A failed preparation still lets the batch being written finish (or fail) first.
        if writing is not None and not writing.done():
            await asyncio.wait([writing])
    summary.elapsed_s = time.monotonic() - started
    return summary


def _count(summary: ImportSummary, items: list[BatchItemResult],
           progress: Progress | None) -> None:
    for item in items:
        if item.result is None:
            summary.conflicts += 1
        elif item.result.replayed:
            summary.already_present += 1
        else:
            summary.recorded += 1
            summary.derived += len(item.result.derived)
    if progress is not None:
        progress.advance(len(items))


async def cmd_import_chatgpt(
    container: Container, settings: Settings, args: argparse.Namespace
) -> int:
    # The database first: a file of hundreds of megabytes is not read for nothing.
    report = await container.readiness().check()
    if not report.ready:
        problems = "; ".join(v for v in report.checks.values() if v != "ok")
        if report.checks["schema"] != "ok":
            problems += f" (run `make migrate ENV={settings.tier}`)"
        print(
            f"{COMMAND}: the {settings.tier} database is not ready: {problems}; "
            "nothing was imported",
            file=sys.stderr,
        )
        return 3
    started = time.monotonic()
    try:
        with building_large_tree():
            export = await asyncio.to_thread(read_export, args.file)
    except ChatGPTExportError as e:
        print(f"{COMMAND}: {e}; nothing was imported", file=sys.stderr)
        return 1
    try:
        with Progress(COMMAND, total=len(export.messages)) as progress:
            summary = await import_export(
                container, export, batch_size=args.batch_size, progress=progress
            )
    except DomainError as e:
        print(
            f"{COMMAND}: stopped after {progress.done} of {len(export.messages)} messages: "
            f"{e}. Batches already committed stay; run it again to import the rest.",
            file=sys.stderr,
        )
        return 1
    summary.elapsed_s = time.monotonic() - started
    print(summary.line())
    return 0


def add_parser(subparsers) -> None:
    command = subparsers.add_parser(
        COMMAND, help="import the owner's messages from a ChatGPT export's conversations.json"
    )
    command.add_argument("file", type=Path, help="conversations.json from the unzipped export")
    command.add_argument(
        "--batch-size",
        type=_positive,
        default=500,
        help="messages per transaction (default 500, at most 1000)",
    )


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return number


def _batches(messages: Sequence, size: int):
    for start in range(0, len(messages), size):
        yield messages[start : start + size]
