"""`verify` from the CLI with worker processes: its lines and exit statuses, the provider
that chooses the workers, and no verdict at all when part of the chain cannot be checked."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import pytest
from dependency_injector import providers
from sqlalchemy.engine import make_url

from app.cli.verify import cmd_verify
from app.container import build_container, close_container
from domain.event_log import EventLog
from infrastructure.backends import backend_for
from infrastructure.database import create_engine
from infrastructure.postgres.verification import PostgresChainVerification
from infrastructure.sqlite.verification import (
    ChainCheckFailed,
    ParallelSqliteChainVerification,
)
from tests.conftest import make_settings
from tests.fakes import InMemoryUnitOfWorkFactory
from tests.integration.test_parallel_verify import EVENTS, altered, message, write_log


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    await write_log(path, [message(n) for n in range(1, EVENTS + 1)])
    return path


async def run_verify(path: Path, verification=None) -> int:
    settings = make_settings(f"sqlite+aiosqlite:///{path}")
    container = build_container(settings)
    container.chain_verification.override(
        providers.Object(
            verification or ParallelSqliteChainVerification(path, workers=3, in_process_below=1)
        )
    )
    try:
        return await cmd_verify(container, settings, argparse.Namespace())
    finally:
        await close_container(container)


async def test_an_intact_log_is_reported_on_stdout(log: Path, capsys):
    assert await run_verify(log) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"chain intact: {EVENTS} events, head seq {EVENTS}, head hash ")


async def test_the_first_bad_seq_is_reported_on_stderr(log: Path, capsys):
    path = altered(
        log,
        "UPDATE events SET type = 'forged' WHERE seq = 16",
        "UPDATE events SET type = 'forged' WHERE seq = 27",
    )
    assert await run_verify(path) == 1
    err = capsys.readouterr().err
    assert (
        "chain BROKEN at seq 16: seq 16: content does not match its hash "
        f"({EVENTS} rows, head seq {EVENTS})"
    ) in err
    # Every problem, not only the first.
    assert "[chain] seq 16: content does not match its hash" in err
    assert "[chain] seq 27: content does not match its hash" in err


async def test_a_worker_that_fails_gives_no_verdict(log: Path, capsys):
    crashing = ParallelSqliteChainVerification(
        log,
        workers=2,
        in_process_below=1,
        worker_command=(sys.executable, "-c", "import sys; sys.exit(3)"),
    )
    with pytest.raises(ChainCheckFailed, match="exit status 3"):
        await crashing.verify()
    assert await run_verify(log, crashing) == 2
    captured = capsys.readouterr()
    assert "could not be checked" in captured.err and "intact" not in captured.out


async def test_a_worker_that_reports_nothing_gives_no_verdict(log: Path):
    silent = ParallelSqliteChainVerification(
        log, workers=2, in_process_below=1, worker_command=(sys.executable, "-c", "pass")
    )
    with pytest.raises(ChainCheckFailed, match=r"the worker checking seqs \d+\.\.\d+ "):
        await silent.verify()


async def test_a_damaged_file_gives_no_verdict(log: Path, capsys):
    # Overwrite the table's leaf pages in the middle of the file: the head (the last leaf)
    # still reads, the workers of the earlier ranges cannot.
    with closing(sqlite3.connect(log)) as db:
        if not db.execute(
            "SELECT 1 FROM pragma_compile_options WHERE compile_options = 'ENABLE_DBSTAT_VTAB'"
        ).fetchone():
            pytest.skip("this SQLite has no dbstat table to find the pages with")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        leaves = [
            page
            for (page,) in db.execute(
                "SELECT pageno FROM dbstat WHERE name = 'events' AND pagetype = 'leaf' "
                "ORDER BY pageno"
            )
        ]
    with log.open("r+b") as file:
        for page in leaves[:-1]:
            file.seek((page - 1) * page_size)
            file.write(b"\xff" * page_size)
    with pytest.raises(ChainCheckFailed, match="malformed"):
        await ParallelSqliteChainVerification(log, workers=3, in_process_below=1).verify()
    assert await run_verify(log) == 2
    assert "malformed" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["missing.db", "not-a-database.db", "."])
async def test_a_file_that_is_not_a_log_gives_no_verdict(tmp_path: Path, name: str, capsys):
    path = tmp_path / name
    if name == "not-a-database.db":
        path.write_bytes(b"hello, this is not SQLite\n" * 200)
    with pytest.raises(ChainCheckFailed, match="cannot read the event log"):
        await ParallelSqliteChainVerification(path, workers=2).verify()
    assert await run_verify(path) == 2


async def test_a_sqlite_file_gets_workers_and_sqlite_in_memory_event_log_verify(tmp_path: Path):
    event_log = EventLog(InMemoryUnitOfWorkFactory())

    def chosen(url: str) -> object:
        engine = create_engine(url)
        return backend_for(url).chain_verification(make_url(url), engine, event_log)

    assert isinstance(
        chosen(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"), ParallelSqliteChainVerification
    )
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"):
        assert chosen(url) is event_log
    assert isinstance(
        chosen("postgresql+asyncpg://helionyx@127.0.0.1/helionyx"), PostgresChainVerification
    )


async def test_the_container_verifies_a_sqlite_file_with_workers(log: Path):
    container = build_container(make_settings(f"sqlite+aiosqlite:///{log}"))
    try:
        verification = container.chain_verification()
        assert isinstance(verification, ParallelSqliteChainVerification)
        assert (await verification.verify()).count == EVENTS
    finally:
        await close_container(container)


async def test_a_worker_that_cannot_start_gives_no_verdict(log: Path):
    unstartable = ParallelSqliteChainVerification(
        log, workers=2, in_process_below=1, worker_command=(str(log.with_name("no-python")),)
    )
    with pytest.raises(ChainCheckFailed, match="cannot start a worker"):
        await unstartable.verify()
