"""`python -m app.cli --env <tier> import-chatgpt FILE [--batch-size N]`.

The database is checked first. Then a worker process reads the file whole (a bad file
stores nothing) and prepares its messages, in time order, batch after batch
(infrastructure/chatgpt/reader.py); here each batch goes through the ordinary
ingest service (`ingest_batch`), one transaction each, while the worker prepares the
next ones. Each
message is keyed by (source, source_id), so running the import again, or again after an
interruption, records only what is missing.

The reported time and rate run from starting the worker, which reads the file, to the
last commit.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

from app.cli.progress import Progress
from app.container import Container
from app.gc_tuning import tune_after_startup
from app.settings import Settings
from domain.errors import DomainError
from domain.ingest import BatchItemResult
from infrastructure.chatgpt.export import ChatGPTExport, ChatGPTExportError
from infrastructure.chatgpt.reader import (
    ExportReaderFailed,
    PreparedExport,
    prepared_export,
)

COMMAND = "import-chatgpt"
CONTEXT = {"channel": "import", "importer": COMMAND}
BATCH_SIZE = 500  # messages per transaction, unless --batch-size says otherwise


@dataclass
class ImportSummary:
    export: ChatGPTExport
    recorded: int = 0
    already_present: int = 0
    conflicts: int = 0
    derived: int = 0
    elapsed_s: float = 0.0

    @property
    def processed(self) -> int:
        return self.recorded + self.already_present + self.conflicts

    def line(self) -> str:
        export = self.export
        skipped = sum(export.skipped.values())
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(export.skipped.items()))
        rate = self.processed / self.elapsed_s if self.elapsed_s > 0 else 0.0
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


class ImportStopped(Exception):
    """A batch failed (its cause is the reason); the batches before it stay."""

    def __init__(self, summary: ImportSummary, total: int) -> None:
        super().__init__(f"stopped after {summary.processed} of {total} messages")
        self.summary = summary
        self.total = total


async def import_file(
    container: Container, path: Path, *, batch_size: int = BATCH_SIZE, show_progress: bool = False
) -> ImportSummary:
    """Import the export at `path`: `ChatGPTExportError` if it is not one (nothing
    stored), `ImportStopped` if a batch fails."""
    tune_after_startup()
    started = time.monotonic()
    async with prepared_export(path, batch_size=batch_size, context=CONTEXT) as export:
        summary = ImportSummary(export.export)
        counting = Progress(COMMAND, total=export.count) if show_progress else nullcontext()
        with counting as progress:
            try:
                await import_batches(container, export, summary, progress)
            except (DomainError, ExportReaderFailed) as e:
                raise ImportStopped(summary, export.count) from e
    summary.elapsed_s = time.monotonic() - started
    return summary


async def import_batches(
    container: Container,
    export: PreparedExport,
    summary: ImportSummary,
    progress: Progress | None = None,
) -> None:
    """Batches are written one after another, in time order, one transaction each, while
    the worker process prepares the next ones."""
    service = container.ingest_service()
    # Rules only: old messages carry their own prefixes; an LLM call per message of a
    # years-long history would cost more than it finds.
    extractor = container.rules_extractor()
    async for batch in export.batches():
        _count(summary, await service.ingest_batch(batch, extractor=extractor), progress)


def _count(summary: ImportSummary, items: list[BatchItemResult], progress: Progress | None) -> None:
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
    # The database was checked first (app/cli/main.py): a file of hundreds of megabytes is
    # not read for nothing.
    try:
        summary = await import_file(
            container, args.file, batch_size=args.batch_size, show_progress=True
        )
    except ChatGPTExportError as e:
        print(f"{COMMAND}: {e}; nothing was imported", file=sys.stderr)
        return 1
    except ImportStopped as e:
        print(
            f"{COMMAND}: {e}: {e.__cause__}. Batches already committed stay; run it "
            "again to import the rest.",
            file=sys.stderr,
        )
        return 1
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
        default=BATCH_SIZE,
        help=f"messages per transaction (default {BATCH_SIZE}, at most 1000)",
    )


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return number
