"""verify names every problem in the chain, each once and by kind, and counts the rows that
are there: on a SQLite file (in this process, in worker processes, through `EventLog` and
through the backup's check, all alike) and on PostgreSQL, with the log altered behind the
triggers' back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from domain.chain import ChainProblem, ChainReport
from domain.event_log import EventLog
from infrastructure.backup.base import connected, verify_chain
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.postgres.verification import PostgresChainVerification
from infrastructure.sqlite.verification import ParallelSqliteChainVerification
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_admin_url
from tests.fakes import FakeClock
from tests.integration.test_parallel_verify import EVENTS as FEW
from tests.integration.test_parallel_verify import message
from tests.integration.test_parallel_verify_soundness import text_moved_into_metadata

EVENTS = 300
BATCH = 50


def payload(seq: int) -> str:
    # Spaced: `:name` would be a bind parameter to SQLAlchemy's text().
    return f'{{"n": {seq}, "text": "forged {seq}"}}'


def content(seq: int) -> ChainProblem:
    return ChainProblem(seq, "content", f"seq {seq}: content does not match its hash")


def unreadable(seq: int, stored: str) -> ChainProblem:
    try:
        json.loads(stored)
    except ValueError as e:
        return ChainProblem(seq, "unreadable", f"seq {seq}: content cannot be read ({e})")
    raise AssertionError(f"{stored!r} reads")


# name: (statements, the problems verify must name, how many rows are left)
CASES = {
    "one payload": (
        [f"UPDATE events SET payload = '{payload(150)}' WHERE seq = 150"],
        [content(150)],
        EVENTS,
    ),
    "two payloads far apart": (
        [f"UPDATE events SET payload = '{payload(s)}' WHERE seq = {s}" for s in (40, 260)],
        [content(40), content(260)],
        EVENTS,
    ),
    "one row deleted": (
        ["DELETE FROM events WHERE seq = 150"],
        [ChainProblem(150, "gap", "seq 150 is missing")],
        EVENTS - 1,
    ),
    "five rows deleted": (
        ["DELETE FROM events WHERE seq BETWEEN 100 AND 104"],
        [ChainProblem(100, "gap", "seqs 100..104 are missing")],
        EVENTS - 5,
    ),
    "a prev_hash": (  # the prev_hash is sealed too: the row's content no longer matches
        ["UPDATE events SET prev_hash = hash WHERE seq = 150"],
        [ChainProblem(150, "link", "seq 150: prev_hash does not match seq 149"), content(150)],
        EVENTS,
    ),
}
# Only on SQLite, where the ranges of the workers are checked apart.
SQLITE_CASES = {
    "the first row deleted": (
        ["DELETE FROM events WHERE seq = 1"],
        [ChainProblem(1, "gap", "seq 1 is missing")],
        EVENTS - 1,
    ),
    "a whole range deleted": (  # split(300, 12): 101..125 is a range
        ["DELETE FROM events WHERE seq BETWEEN 98 AND 127"],
        [ChainProblem(98, "gap", "seqs 98..127 are missing")],
        EVENTS - 30,
    ),
    "every kind at once": (
        [
            "DELETE FROM events WHERE seq IN (25, 26)",  # at a range boundary
            f"UPDATE events SET payload = '{payload(76)}' WHERE seq = 76",
            "UPDATE events SET prev_hash = hash WHERE seq = 200",
            """UPDATE events SET metadata = '{"channel": ' WHERE seq = 251""",
            "DELETE FROM events WHERE seq = 299",
        ],
        [
            ChainProblem(25, "gap", "seqs 25..26 are missing"),
            content(76),
            ChainProblem(200, "link", "seq 200: prev_hash does not match seq 199"),
            content(200),
            unreadable(251, '{"channel": '),
            ChainProblem(299, "gap", "seq 299 is missing"),
        ],
        EVENTS - 3,
    ),
}


async def write_events(url: str) -> None:
    engine = create_engine(url)
    await upgrade(engine, "dev")
    clock = FakeClock()
    try:
        for start in range(1, EVENTS + 1, BATCH):
            clock.advance(seconds=1.5)
            async with SqlUnitOfWorkFactory(engine, clock)(write=True) as uow:
                await uow.events.append([message(n) for n in range(start, start + BATCH)])
                await uow.commit()
    finally:
        await engine.dispose()


def assert_names(report: ChainReport, problems: list[ChainProblem], rows: int) -> None:
    assert list(report.problems) == problems
    assert report.problems_total == len(problems) and not report.intact
    assert (report.first_bad_seq, report.problem) == (problems[0].seq, problems[0].detail)
    assert (report.count, report.last_seq) == (rows, EVENTS)


async def verify_by_the_spec(url: str) -> ChainReport:
    """`EventLog.verify`: every event read back and judged by `hash_of` (it cannot name
    a row it cannot read: it raises)."""
    engine = create_engine(url)
    try:
        return await EventLog(SqlUnitOfWorkFactory(engine, FakeClock())).verify(page_size=70)
    finally:
        await engine.dispose()


async def verify_as_a_backup(url: str) -> ChainReport:
    async with connected(url) as engine, engine.connect() as conn:
        return await verify_chain(conn)


# SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import asyncio

    path = tmp_path_factory.mktemp("log") / "log.db"
    asyncio.run(write_events(f"sqlite+aiosqlite:///{path}"))
    return path


def sqlite_altered(original: Path, name: str, statements: list[str]) -> Path:
    copy = original.with_name(f"{name.replace(' ', '-')}.db")
    with closing(sqlite3.connect(original)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
        target.execute("DROP TRIGGER events_reject_update")
        target.execute("DROP TRIGGER events_reject_delete")
        for statement in statements:
            target.execute(statement)
        target.commit()
    return copy


@pytest.mark.parametrize("case", [*CASES, *SQLITE_CASES])
async def test_sqlite_names_every_problem_on_every_path(sqlite_log: Path, case: str):
    statements, problems, rows = {**CASES, **SQLITE_CASES}[case]
    path = sqlite_altered(sqlite_log, case, statements)
    url = f"sqlite+aiosqlite:///{path}"

    in_process = await ParallelSqliteChainVerification(path, workers=3).verify()
    assert_names(in_process, problems, rows)
    for workers, ranges_per_worker in ((3, 1), (2, 6)):
        in_workers = await ParallelSqliteChainVerification(
            path, workers=workers, in_process_below=1, ranges_per_worker=ranges_per_worker
        ).verify()
        assert in_workers == in_process
    if not any(problem.kind == "unreadable" for problem in problems):
        assert await verify_by_the_spec(url) == in_process
    assert await verify_as_a_backup(url) == in_process


async def test_an_intact_sqlite_log_counts_every_row(sqlite_log: Path):
    report = await ParallelSqliteChainVerification(
        sqlite_log, workers=2, in_process_below=1
    ).verify()
    assert report.intact and report.problems == () and report.problems_total == 0
    assert (report.count, report.last_seq) == (EVENTS, EVENTS)
    assert await verify_by_the_spec(f"sqlite+aiosqlite:///{sqlite_log}") == report


# PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
async def postgres_log() -> AsyncIterator[str]:
    if not postgres_admin_url():
        pytest.skip("PostgreSQL not configured: set HELIONYX_TEST_POSTGRES_URL")
    url = await create_postgres_database()
    try:
        await write_events(url)
        yield url
    finally:
        await drop_postgres_database(url)


async def postgres_alter(url: str, statements: list[str]) -> None:
    """As the superuser the tests connect as: the owner can switch the guards off."""
    from sqlalchemy import text

    async with connected(url) as engine, engine.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        for statement in statements:
            await conn.execute(text(statement))


@pytest.mark.postgres
@pytest.mark.parametrize("case", list(CASES))
async def test_postgres_names_every_problem(postgres_log: str, case: str):
    statements, problems, rows = CASES[case]
    await postgres_alter(postgres_log, statements)
    engine = create_engine(postgres_log)
    try:
        report = await PostgresChainVerification(engine, page_size=70).verify()
    finally:
        await engine.dispose()
    assert_names(report, problems, rows)
    assert await verify_by_the_spec(postgres_log) == report
    assert await verify_as_a_backup(postgres_log) == report


async def test_the_backup_check_does_not_take_the_stores_spelling_on_trust(tmp_path: Path):
    """Bytes moved from payload into metadata keep SQLite's spelling of the row whole
    (test_parallel_verify_soundness.py): the backup's check spells the text itself."""
    seq = 14
    path = await text_moved_into_metadata(tmp_path, seq, FEW)

    report = await verify_as_a_backup(f"sqlite+aiosqlite:///{path}")
    assert [(p.seq, p.kind) for p in report.problems] == [(seq, "unreadable")]
    assert report == await ParallelSqliteChainVerification(path).verify()
