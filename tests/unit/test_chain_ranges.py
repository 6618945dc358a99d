"""The chain checked a range at a time, and from texts given as bytes or not at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.chain import (
    GENESIS_HASH,
    MAX_PROBLEMS_KEPT,
    ChainProblem,
    ChainReport,
    ChainVerifier,
    SealedRow,
    event_hash,
    sealed_text_of,
)
from domain.events import RecordedEvent


def _chain(n: int) -> list[RecordedEvent]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = dict(seq=seq, event_id=str(uuid.uuid4()), type="t.happened",
                      aggregate_type="t", aggregate_id="a", payload={"n": seq}, metadata={},
                      idempotency_key=None, occurred_at=at, recorded_at=at, schema_version=1,
                      prev_hash=prev)
        events.append(RecordedEvent(**fields, hash=event_hash(**fields)))
        prev = events[-1].hash
    return events


def _rows(events: list[RecordedEvent]) -> list[SealedRow]:
    return [(e.seq, e.prev_hash, e.hash, sealed_text_of(e).encode()) for e in events]


def test_bytes_texts_are_checked_like_str_texts():
    events = _chain(5)
    verifier = ChainVerifier()
    assert verifier.feed_sealed(_rows(events)) == 5
    report = verifier.report()
    assert report.intact and report.count == 5 and report.head_hash == events[-1].hash


def test_a_row_without_text_is_left_to_its_content():
    events = _chain(3)
    rows = _rows(events)
    rows[1] = (*rows[1][:3], None)
    verifier = ChainVerifier()
    assert verifier.feed_sealed(rows) == 1 and not verifier.broken
    verifier.feed([events[1]])
    assert verifier.feed_sealed(rows, 2) == 3 and verifier.report().count == 3
    assert verifier.report().intact


def test_a_range_starts_linked_to_the_hash_before_it():
    events = _chain(6)
    verifier = ChainVerifier(last_seq=3, head_hash=events[2].hash)
    assert verifier.feed_sealed(_rows(events[3:])) == 3
    report = verifier.report()
    assert report.intact and report.count == 3 and report.last_seq == 6

    wrong = _judged(ChainVerifier(last_seq=3, head_hash=events[1].hash), events,
                    _rows(events[3:]))
    assert wrong.report().problems == (
        ChainProblem(4, "link", "seq 4: prev_hash does not match seq 3"),)
    assert (wrong.report().count, wrong.report().last_seq) == (3, 6)


def _judged(verifier: ChainVerifier, events: list[RecordedEvent],
            rows: list[SealedRow]) -> ChainVerifier:
    """Rows fed as verify feeds them: those the fast path leaves are judged in full."""
    for row in verifier.rows_to_judge(rows):
        verifier.feed([events[row[0] - 1]])
    return verifier


def test_a_gap_is_named_once_by_the_row_after_it():
    events = _chain(12)
    present = [e for e in events if e.seq not in (3, 7, 8, 9)]
    report = _judged(ChainVerifier(), events, _rows(present)).report()
    assert report.problems == (ChainProblem(3, "gap", "seq 3 is missing"),
                               ChainProblem(7, "gap", "seqs 7..9 are missing"))
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
        (3, "content"), (6, "link"), (6, "content")]
    assert report.count == 8 and report.head_hash == events[-1].hash


def test_an_unreadable_event_is_named_and_the_chain_goes_on():
    events = _chain(8)
    verifier = ChainVerifier(last_seq=6, head_hash=events[5].hash)
    verifier.unreadable(_rows(events)[6], "Expecting value")
    verifier.feed_sealed(_rows(events), 7)
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
    _judged(verifier, events, _rows(events[lo - 1:hi]))
    return verifier.report(), start_hash


def test_range_reports_join_into_the_log_report():
    from infrastructure.chain_verification import split, stitch

    events = _chain(9)
    ranges = split(9, 3)
    results = [_range_result(events, lo, hi, events[lo - 2].hash if lo > 1 else GENESIS_HASH)
               for lo, hi in ranges]
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
    from infrastructure.chain_verification import split, stitch

    events = _chain(9)
    changed = [e._replace(payload={"n": "forged"}) if e.seq in (2, 8) else e for e in events]
    ranges = split(9, 3)
    results = [_range_result(changed, lo, hi, events[lo - 2].hash if lo > 1 else GENESIS_HASH)
               for lo, hi in ranges]
    report = stitch(ranges, results)
    assert [(p.seq, p.kind) for p in report.problems] == [(2, "content"), (8, "content")]
    assert (report.count, report.last_seq, report.problems_total) == (9, 9, 2)


async def test_event_log_verify_names_every_problem_across_pages():
    from domain.event_log import EventLog
    from tests.fakes import InMemoryUnitOfWorkFactory

    factory = InMemoryUnitOfWorkFactory()
    events = _chain(25)
    factory.state.events = [
        e._replace(payload={"n": "forged"}) if e.seq in (3, 17) else e for e in events]
    factory.state.events[9] = events[9]._replace(prev_hash="0" * 64)
    seen: list[int] = []
    report = await EventLog(factory).verify(page_size=4, progress=seen.append)
    assert [(p.seq, p.kind) for p in report.problems] == [
        (3, "content"), (10, "link"), (10, "content"), (17, "content")]
    assert (report.count, report.last_seq, report.head_hash) == (25, 25, events[-1].hash)
    assert sum(seen) == 25
