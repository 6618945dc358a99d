"""`python -m app.cli --env <tier> export [--format jsonl|markdown] [--out PATH]`.

JSON Lines (the default) is the whole log, every column, hashes included: `verify --file`
checks it offline and `import-log` loads it into an empty database. Markdown is the
owner's objects to read. Streamed at constant memory. The file is written 0600 under a
temporary name in its directory and renamed once complete, so a file of that name is
always a finished export; `--out -` writes to stdout.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import nullcontext
from pathlib import Path

from app.audit import audit
from app.cli.progress import Progress
from app.container import Container
from app.settings import Settings
from domain.errors import StorageUnavailable
from domain.ports import Clock
from infrastructure.log_file.export import jsonl_export, write_chunks
from infrastructure.log_file.markdown import markdown_export

COMMAND = "export"
EXTENSIONS = {"jsonl": "jsonl", "markdown": "md"}


async def cmd_export(container: Container, settings: Settings, args: argparse.Namespace) -> int:
    clock, uow_factory = container.clock(), container.uow_factory()
    jsonl = args.format == "jsonl"
    total = (await container.event_log().head()).count if jsonl else 0
    chunks = (
        jsonl_export(uow_factory, clock)
        if jsonl
        else markdown_export(uow_factory, clock, zone=container.owner_zone())
    )
    started = time.perf_counter()
    try:
        with Progress(COMMAND, total=total) if jsonl else nullcontext() as progress:
            counted = _Lines(chunks, progress.advance if progress is not None else None)
            if args.out == "-":
                written = await write_chunks(counted, sys.stdout.buffer)
                sys.stdout.buffer.flush()
                where = "stdout"
            else:
                path = Path(args.out) if args.out else default_path(settings, args.format, clock)
                if path.exists():
                    print(
                        f"{COMMAND}: {path} exists already; choose another OUT. Nothing "
                        "was written.",
                        file=sys.stderr,
                    )
                    return 1
                written = await _write_private(counted, path)
                where = str(path)
    except StorageUnavailable as e:
        print(
            f"{COMMAND}: the {settings.tier} database could not be read: {e}. No file "
            "was left behind.",
            file=sys.stderr,
        )
        return 1
    elapsed = time.perf_counter() - started
    events = max(counted.lines - 1, 0)
    audit(
        "export.written", "done", tier=settings.tier, file=where, events=events if jsonl else None
    )
    out = sys.stderr if where == "stdout" else sys.stdout  # stdout holds the export itself
    if jsonl:
        rate = events / elapsed if elapsed > 0 else 0.0
        check = "" if where == "stdout" else f"; check it: make verify FILE={where}"
        print(
            f"{COMMAND}: {events} events to {where} ({written:,} bytes, {elapsed:.2f} s, "
            f"{rate:,.0f} events/s){check}",
            file=out,
        )
    else:
        print(
            f"{COMMAND}: Markdown of the {settings.tier} objects to {where} "
            f"({written:,} bytes, {elapsed:.2f} s)",
            file=out,
        )
    return 0


def default_path(settings: Settings, fmt: str, clock: Clock) -> Path:
    """var/exports/<tier>/helionyx-<tier>-<UTC time>.<ext>, in a directory of 0700."""
    directory = settings.root / "var" / "exports" / settings.tier
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    return directory / f"helionyx-{settings.tier}-{stamp}.{EXTENSIONS[fmt]}"


async def _write_private(chunks: AsyncIterable[bytes], path: Path) -> int:
    """Written 0600 to a temporary name beside `path`, then renamed to it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a partial file left by an earlier run keeps its mode
        with os.fdopen(fd, "wb") as stream:
            written = await write_chunks(chunks, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return written


class _Lines:
    """The chunks as they pass, their lines counted (for JSON Lines: the header and one
    per event), each chunk's told to `advance`."""

    def __init__(self, chunks: AsyncIterator[bytes], advance: Callable[[int], None] | None) -> None:
        self._chunks = chunks
        self._advance = advance
        self.lines = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._chunks:
            lines = chunk.count(b"\n")
            if self._advance is not None:
                self._advance(lines - (1 if self.lines == 0 else 0))
            self.lines += lines
            yield chunk


def add_parser(sub) -> None:
    export = sub.add_parser(
        COMMAND, help="write the log (jsonl) or the objects (markdown) to a file"
    )
    export.add_argument(
        "--format",
        choices=sorted(EXTENSIONS),
        default="jsonl",
        help="jsonl: every event, hashes included; markdown: to read",
    )
    export.add_argument("--out", help="the file (default var/exports/<tier>/...; - for stdout)")
