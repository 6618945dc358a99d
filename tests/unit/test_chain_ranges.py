"""The chain checked a range at a time, rows a store has hashed itself taken as they
follow (`ChainVerifier.follows`), the others judged by their content."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime

from domain.chain import (
    GENESIS_HASH,
    MAX_PROBLEMS_KEPT,
    ChainProblem,
    ChainReport,
    ChainVerifier,
    canonical_json,
    event_hash,
    iso_utc,
)
from domain.events import RecordedEvent


def _chain(n: int) -> list[RecordedEvent]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = dict(
            seq=seq,
            event_id=str(uuid.uuid4()),
            type="t.happened",
            aggregate_type="t",
            aggregate_id="a",
            payload={"n": seq},
            metadata={},
            idempotency_key=None,
            occurred_at=at,
            recorded_at=at,
            schema_version=1,
            prev_hash=prev,
        )
        events.append(RecordedEvent(**fields, hash=event_hash(**fields)))
        prev = events[-1].hash
    return events


Row = tuple[int, str, str, bytes | None]


def _sealed(e: RecordedEvent) -> bytes:
    """The text `event_hash` covers, as a store's spelling of it should give it."""
    return canonical_json(
        {
            "seq": e.seq,
            "event_id": e.event_id,
            "type": e.type,
            "aggregate_type": e.aggregate_type,
            "aggregate_id": e.aggregate_id,
            "payload": e.payload,
            "metadata": e.metadata,
            "idempotency_key": e.idempotency_key,
            "occurred_at": iso_utc(e.occurred_at),
            "recorded_at": iso_utc(e.recorded_at),
            "schema_version": e.schema_version,
            "prev_hash": e.prev_hash,
        }
    ).encode()


def _rows(events: list[RecordedEvent]) -> list[Row]:
    return [(e.seq, e.prev_hash, e.hash, _sealed(e)) for e in events]


def _judged(verifier: ChainVerifier, events: list[RecordedEvent], rows: list[Row]) -> ChainVerifier:
    """Rows fed as a store's verification feeds them: one whose text hashes right is
    taken if it follows; any other is judged by its content."""
    for seq, prev_hash, hash_, text in rows:
        if (
            text is not None
            and hashlib.sha256(text).hexdigest() == hash_
            and verifier.follows(seq, prev_hash, hash_)
        ):
            continue
        verifier.feed([events[seq - 1]])
    return verifier


def test_rows_that_hash_right_and_follow_are_taken_without_their_content():
    events = _chain(5)
    verifier = ChainVerifier()
    assert all(verifier.follows(e.seq, e.prev_hash, e.hash) for e in events)
    report = verifier.report()
    assert report.intact and report.count == 5 and report.head_hash == events[-1].hash


def test_a_row_that_does_not_follow_is_not_taken_and_changes_nothing():
    events = _chain(4)
    verifier = ChainVerifier()
    assert verifier.follows(1, events[0].prev_hash, events[0].hash)
    assert not verifier.follows(3, events[2].prev_hash, events[2].hash)  # a gap
    assert not verifier.follows(2, "0" * 64, events[1].hash)  # a broken link
    assert (verifier.count, verifier.last_seq, verifier.broken) == (1, 1, False)


def test_a_row_without_text_is_left_to_its_content():
    events = _chain(3)
    rows = _rows(events)
    rows[1] = (*rows[1][:3], None)
    report = _judged(ChainVerifier(), events, rows).report()
    assert report.intact and report.count == 3


def test_a_range_starts_linked_to_the_hash_before_it():
    events = _chain(6)
    verifier = _judged(
        ChainVerifier(last_seq=3, head_hash=events[2].hash), events, _rows(events[3:])
    )
    report = verifier.report()
    assert report.intact and report.count == 3 and report.last_seq == 6

    wrong = _judged(ChainVerifier(last_seq=3, head_hash=events[1].hash), events, _rows(events[3:]))
    assert wrong.report().problems == (
        ChainProblem(4, "link", "seq 4: prev_hash does not match seq 3"),
    )
    assert (wrong.report().count, wrong.report().last_seq) == (3, 6)


def test_a_gap_is_named_once_by_the_row_after_it():
    events = _chain(12)
    present = [e for e in events if e.seq not in (3, 7, 8, 9)]
    report = _judged(ChainVerifier(), events, _rows(present)).report()
    assert report.problems == (
        ChainProblem(3, "gap", "seq 3 is missing"),
        ChainProblem(7, "gap", "seqs 7..9 are missing"),
    )
    assert (report.first_bad_seq, report.problem) == (3, "seq 3 is missing")
    assert (report.count, report.last_seq, report.problems_total) == (8, 12, 2)
    assert report.head_hash == events[-1].hash


def test_after_a_problem_the_chain_goes_on_from_the_recorded_hash():
    events = _chain(8)
    changed = list(events)
    changed[2] = events[2]._replace(payload={"n": "forged"})  # content only
    changed[5] = events[5]._replace(prev_hash="0" * 64)  # link, and so content
    report = _judged(ChainVerifier(), changed, _rows(changed)).report()
    assert [(p.seq, p.kind) for p in report.problems] == [
        (3, "content"),
        (6, "link"),
        (6, "content"),
    ]
    assert report.count == 8 and report.head_hash == events[-1].hash


def test_an_unreadable_event_is_named_and_the_chain_goes_on():
    events = _chain(8)
    verifier = ChainVerifier(last_seq=6, head_hash=events[5].hash)
    verifier.unreadable(7, events[6].prev_hash, events[6].hash, "Expecting value")
    _judged(verifier, events, _rows(events[7:]))
    report = verifier.report()
    assert report.first_bad_seq == 7 and "cannot be read" in (report.problem or "")
    assert report.problems[0].kind == "unreadable" and len(report.problems) == 1
    assert (report.count, report.last_seq) == (2, 8)


def test_problems_past_the_cap_are_counted_not_kept():
    events = _chain(MAX_PROBLEMS_KEPT + 5)
    forged = [e._replace(payload={"n": "forged"}) for e in events]
    report = _judged(ChainVerifier(), forged, _rows(forged)).report()
    assert report.problems_total == len(events) and len(report.problems) == MAX_PROBLEMS_KEPT
    assert [p.seq for p in report.problems] == list(range(1, MAX_PROBLEMS_KEPT + 1))


def _range_result(events: list[RecordedEvent], lo: int, hi: int, start_hash: str):
    verifier = ChainVerifier(last_seq=lo - 1, head_hash=start_hash)
    _judged(verifier, events, _rows(events[lo - 1 : hi]))
    return verifier.report(), start_hash


def test_range_reports_join_into_the_log_report():
    from infrastructure.sqlite.verification import split, stitch

    events = _chain(9)
    ranges = split(9, 3)
    results = [
        _range_result(events, lo, hi, events[lo - 2].hash if lo > 1 else GENESIS_HASH)
        for lo, hi in ranges
    ]
    report = stitch(ranges, results)
    assert report.intact and (report.count, report.last_seq) == (9, 9)
    assert report.head_hash == events[-1].hash

    # The second range found itself intact, linked to a hash that is not the first
    # range's head (seq 3 read differently by the two workers); the third was checked too.
    results[1] = (ChainReport(3, 6, events[5].hash), "e" * 64)
    report = stitch(ranges, results)
    assert (report.first_bad_seq, report.count, report.last_seq) == (4, 9, 9)
    assert report.problem == "seq 4: prev_hash does not match seq 3"
    assert report.problems_total == 1 and report.head_hash == events[-1].hash


def test_the_problems_of_every_range_are_joined_in_seq_order():
    from infrastructure.sqlite.verification import split, stitch

    events = _chain(9)
    changed = [e._replace(payload={"n": "forged"}) if e.seq in (2, 8) else e for e in events]
    ranges = split(9, 3)
    results = [
        _range_result(changed, lo, hi, events[lo - 2].hash if lo > 1 else GENESIS_HASH)
        for lo, hi in ranges
    ]
    report = stitch(ranges, results)
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "content"), (8, "content")]
    assert (report.count, report.last_seq, report.problems_total) == (9, 9, 2)


async def test_event_log_verify_names_every_problem_across_pages():
    from domain.event_log import EventLog
    from tests.fakes import InMemoryUnitOfWorkFactory

    factory = InMemoryUnitOfWorkFactory()
    events = _chain(25)
    factory.state.events = [
        e._replace(payload={"n": "forged"}) if e.seq in (3, 17) else e for e in events
    ]
    factory.state.events[9] = events[9]._replace(prev_hash="0" * 64)
    seen: list[int] = []
    report = await EventLog(factory).verify(page_size=4, progress=seen.append)
    assert [(p.seq, p.kind) for p in report.problems] == [
        (3, "content"),
        (10, "link"),
        (10, "content"),
        (17, "content"),
    ]
    assert (report.count, report.last_seq, report.head_hash) == (25, 25, events[-1].hash)
    assert sum(seen) == 25
