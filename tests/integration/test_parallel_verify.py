"""`make verify` on a SQLite file: ranges checked by worker processes name the same
problems as `EventLog.verify`, on real files altered behind the triggers' back."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import pytest

from domain.chain import ChainProblem, ChainReport
from domain.event_log import EventLog
from domain.events import NewEvent
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.sqlite.chain_scan import SCAN, connect, sealed_rows
from infrastructure.sqlite.verification import ParallelSqliteChainVerification, split
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

EVENTS = 30  # three workers, a range each: seqs 1-10, 11-20, 21-30


def message(n: int, **fields) -> NewEvent:
    return NewEvent(
        **{
            "type": "message.ingested",
            "aggregate_type": "message",
            "aggregate_id": f"m{n}",
            "payload": {"n": n, "text": f"hello {n}"},
            "metadata": {"channel": "test"},
            **fields,
        }
    )


async def write_log(path: Path, events: Sequence[NewEvent]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine, "dev")
    clock = FakeClock()
    try:
        for event in events:
            clock.advance(seconds=1.5)
            async with SqlUnitOfWorkFactory(engine, clock)(write=True) as uow:
                await uow.events.append([event])
                await uow.commit()
    finally:
        await engine.dispose()


@pytest.fixture
async def log(tmp_path: Path) -> Path:
    path = tmp_path / "log.db"
    await write_log(path, [message(n) for n in range(1, EVENTS + 1)])
    return path


def altered(original: Path, *statements: str) -> Path:
    """A copy of the log with `statements` run on it, the append-only triggers dropped."""
    copy = original.with_name("altered.db")
    with closing(sqlite3.connect(original)) as source, closing(sqlite3.connect(copy)) as target:
        source.backup(target)
        for trigger in ("events_reject_update", "events_reject_delete", "events_reject_replace"):
            target.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        for statement in statements:
            target.execute(statement)
        target.commit()
    return copy


async def verify(path: Path, workers: int = 3, ranges_per_worker: int = 1) -> ChainReport:
    # in_process_below=1: even 30 events go to worker processes.
    return await ParallelSqliteChainVerification(
        path, workers=workers, in_process_below=1, ranges_per_worker=ranges_per_worker
    ).verify()


async def verify_in_process(path: Path) -> ChainReport:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        return await EventLog(SqlUnitOfWorkFactory(engine, FakeClock())).verify()
    finally:
        await engine.dispose()


def test_the_log_is_cut_into_one_range_per_worker():
    assert split(30, 3) == [(1, 10), (11, 20), (21, 30)]
    assert split(7, 2) == [(1, 3), (4, 7)]
    assert split(2, 4) == [(1, 1), (2, 2)]


@pytest.mark.parametrize(("workers", "ranges_per_worker"), [(1, 1), (3, 1), (2, 7)])
async def test_an_intact_log_gives_the_same_report_as_event_log_verify(
    log: Path, workers: int, ranges_per_worker: int
):
    seen: list[int] = []
    report = await ParallelSqliteChainVerification(
        log, workers=workers, in_process_below=1, ranges_per_worker=ranges_per_worker
    ).verify(progress=seen.append)
    assert report.intact and report.count == EVENTS and report.last_seq == EVENTS
    assert report == await verify_in_process(log)
    assert sum(seen) == EVENTS


@pytest.mark.parametrize(("workers", "ranges_per_worker"), [(1, 1), (3, 1), (2, 7)])
async def test_an_altered_payload_is_named(log: Path, workers: int, ranges_per_worker: int):
    path = altered(
        log, "UPDATE events SET payload = json_set(payload, '$.text', 'forged') WHERE seq = 4"
    )
    report = await verify(path, workers, ranges_per_worker)
    assert (report.first_bad_seq, report.count) == (4, EVENTS)
    assert report.problem == "seq 4: content does not match its hash"
    assert report.problems == (ChainProblem(4, "content", report.problem),)


async def test_a_row_altered_in_the_second_range_is_named(log: Path):
    path = altered(log, "UPDATE events SET aggregate_id = 'other' WHERE seq = 15")
    report = await verify(path)
    assert (report.first_bad_seq, report.count) == (15, EVENTS)
    assert report == await verify_in_process(path)


@pytest.mark.parametrize("ranges_per_worker", [1, 5])
async def test_two_altered_ranges_are_both_named(log: Path, ranges_per_worker):
    path = altered(
        log,
        'UPDATE events SET metadata = \'{"channel":"x"}\' WHERE seq = 25',
        "UPDATE events SET occurred_at = '2020-01-01 00:00:00.000000' WHERE seq = 8",
    )
    report = await verify(path, ranges_per_worker=ranges_per_worker)
    assert (report.first_bad_seq, report.count) == (8, EVENTS)
    assert [(p.seq, p.kind) for p in report.problems] == [(8, "content"), (25, "content")]
    assert report == await verify_in_process(path)


@pytest.mark.parametrize(
    ("deleted", "problem"),
    [
        ((11,), "seq 11 is missing"),  # the first of the second range
        ((10,), "seq 10 is missing"),  # the last of the first range
        ((10, 11), "seqs 10..11 are missing"),  # both
        (range(9, 23), "seqs 9..22 are missing"),  # the whole second range, and more
    ],
)
async def test_a_gap_at_a_range_boundary_is_named_once(log: Path, deleted, problem: str):
    path = altered(log, f"DELETE FROM events WHERE seq IN ({', '.join(map(str, deleted))})")
    report = await verify(path)
    assert report.problems == (ChainProblem(deleted[0], "gap", problem),)
    assert (report.count, report.last_seq) == (EVENTS - len(deleted), EVENTS)
    assert report == await verify_in_process(path)


async def test_a_broken_link_between_ranges_is_named(log: Path):
    path = altered(log, "UPDATE events SET prev_hash = hash WHERE seq = 21")
    report = await verify(path)
    assert (report.first_bad_seq, report.count) == (21, EVENTS)
    assert report.problem == "seq 21: prev_hash does not match seq 20"
    # prev_hash is sealed with the rest: the row's content does not match either.
    assert [(p.seq, p.kind) for p in report.problems] == [(21, "link"), (21, "content")]


async def test_rows_with_quotes_backslashes_and_newlines_are_intact(tmp_path: Path):
    awkward = ['say "hi"', "back\\slash", "new\nline", "tab\tand\u2028"]
    events = {n: message(n) for n in range(1, EVENTS + 1)}
    for i, text in enumerate(awkward):
        events[2 + 7 * i] = message(2 + 7 * i, payload={"text": text})
        events[3 + 7 * i] = message(3 + 7 * i, idempotency_key=text)
        events[4 + 7 * i] = message(4 + 7 * i, aggregate_id=text, aggregate_type=text[:4])
        events[6 + 7 * i] = message(6 + 7 * i, type=text)
    path = tmp_path / "awkward.db"
    await write_log(path, list(events.values()))

    report = await verify(path)
    assert report.intact and report.count == EVENTS
    assert report == await verify_in_process(path)
    # Those with a quote or a backslash in a short string were judged by their content.
    with closing(connect(path)) as conn:
        rows = sealed_rows(conn.execute(SCAN, (1, EVENTS)).fetchall())
    assert {seq for seq, _, _, text in rows if text is None} == {
        n + 7 * i for i in (0, 1) for n in (3, 4, 6)
    }


async def test_json_spelled_another_way_is_judged_by_its_content(log: Path):
    path = altered(
        log,
        """UPDATE events SET payload = '{ "text" : "hello 17", "n" : 17 }'
                           WHERE seq = 17""",
    )
    report = await verify(path)
    assert report.intact and report.count == EVENTS


async def test_an_event_stored_in_another_storage_class_is_broken(log: Path):
    path = altered(log, "UPDATE events SET event_id = CAST(event_id AS BLOB) WHERE seq = 12")
    report = await verify(path)
    assert report.first_bad_seq == 12 and "cannot be read" in (report.problem or "")


async def test_an_unreadable_payload_is_broken(log: Path):
    path = altered(log, "UPDATE events SET payload = '{\"n\": ' WHERE seq = 22")
    report = await verify(path)
    assert report.first_bad_seq == 22 and "cannot be read" in (report.problem or "")
