"""`python -m app.cli --env <tier> import-log FILE`: a JSON Lines export into an empty
database, of either backend (the way from a dev SQLite database to a live PostgreSQL one).

The file is checked first, as `verify --file` checks it; the events go in as they are, in
one transaction (infrastructure/log_file/importer.py). Then the chain is verified as the
database sees it, the read models and idempotency records are rebuilt from the events
(`make rebuild`), and a digest anchors the imported head.

The database keeps its own log id (migration 20261206_0007): an id names one database's
log and files its digests, and the database exported from may go on taking writes, so
the two logs part at the head the file carries. Sharing an id, each would contradict the
other's digests wherever their digest files met (one tier's directory, a shared
HELIONYX_DIGEST_DIR). The file's log id is printed, to find the source's digests by.

Exit status: 0 imported, 1 refused (bad file, database not empty: nothing was stored) or
the stored chain does not verify.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from app.audit import audit
from app.cli.progress import Progress
from app.container import Container
from app.settings import Settings
from domain.errors import DomainError, StorageUnavailable
from domain.projections import ProjectionError
from infrastructure.log_file.importer import DatabaseNotEmpty, import_log
from infrastructure.log_file.reading import FileProblem, LogFileReader
from infrastructure.rebuild import rebuild_read_models

COMMAND = "import-log"


async def cmd_import_log(container: Container, settings: Settings, args: argparse.Namespace) -> int:
    file: Path = args.file
    started = time.perf_counter()
    try:
        with Progress(COMMAND, total=_events_promised(file)) as progress:
            header = await import_log(container.uow_factory(), file, progress=progress.advance)
    except (FileProblem, DatabaseNotEmpty, OSError, DomainError) as e:
        return _refused(_why(e, file))
    stored = time.perf_counter() - started
    try:
        chain = await container.chain_verification().verify()
    except StorageUnavailable as e:
        print(
            f"{COMMAND}: the events were stored, but their chain could not be checked "
            f"({e}): run make verify ENV={settings.tier}",
            file=sys.stderr,
        )
        return 1
    if not chain.intact or (chain.last_seq, chain.head_hash) != (
        header.head.last_seq,
        header.head.last_hash,
    ):
        print(
            f"{COMMAND}: the events were stored but the chain as the database holds it "
            f"does not verify ({chain.problem or f'head seq {chain.last_seq}'}): run "
            f"make verify ENV={settings.tier}",
            file=sys.stderr,
        )
        return 1
    try:
        models = await rebuild_read_models(container.uow_factory())
    except (DomainError, ProjectionError, ValueError, LookupError) as e:
        print(
            f"{COMMAND}: the events were stored and their chain verified, but the read "
            f"models could not be rebuilt ({e}): run make rebuild ENV={settings.tier}",
            file=sys.stderr,
        )
        return 1
    try:
        digest = await container.integrity().write_digest("import", force=True)
    except (OSError, StorageUnavailable) as e:
        print(f"{COMMAND}: note: no digest was written ({e})", file=sys.stderr)
        digest = None
    elapsed = time.perf_counter() - started
    events = header.head.last_seq
    audit("import.done", "done", tier=settings.tier, file=file.name, events=events, seq=events)
    rate = events / stored if stored > 0 else 0.0
    anchored = f", digest at seq {digest.seq}" if digest is not None else ""
    print(
        f"{COMMAND}: {events} events from {file} (log {header.log_id}), head seq "
        f"{header.head.last_seq} hash {header.head.last_hash}; stored in {stored:.2f} s "
        f"({rate:,.0f} events/s), chain verified, read models rebuilt "
        f"({_count(models.todos, 'todo')}, {_count(models.notes, 'note')}, "
        f"{_count(models.tracks, 'track')}, {_count(models.decisions, 'decision')}, "
        f"{_count(models.idempotency, 'idempotency record')})"
        f"{anchored}; {elapsed:.2f} s in all"
    )
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def _events_promised(file: Path) -> int:
    """What the file's header promises, for the progress shown; 0 if it cannot say."""
    try:
        with file.open("rb") as stream:
            return LogFileReader(stream).header.events
    except (FileProblem, OSError):
        return 0


def _why(error: BaseException, file: Path) -> str:
    if isinstance(error, FileProblem):
        return f"{file} {error}"
    if isinstance(error, DatabaseNotEmpty):
        return f"{error}; import-log loads only into an empty database"
    if isinstance(error, OSError):
        return f"cannot read {file}: {error.strerror or error}"
    return f"the database did not take the events: {error}"


def _refused(why: str) -> int:
    print(f"{COMMAND}: refused: {why}. Nothing was stored.", file=sys.stderr)
    return 1


def add_parser(sub) -> None:
    command = sub.add_parser(COMMAND, help="load a JSON Lines export into an empty database")
    command.add_argument("file", type=Path, help="the export (make export FORMAT=jsonl)")
