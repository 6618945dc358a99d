"""The chain checked a range at a time, and from texts given as bytes or not at all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from domain.chain import (
    GENESIS_HASH,
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
    assert verifier.feed([events[1]])
    assert verifier.feed_sealed(rows, 2) == 3 and verifier.report().count == 3


def test_a_range_starts_linked_to_the_hash_before_it():
    events = _chain(6)
    verifier = ChainVerifier(last_seq=3, head_hash=events[2].hash)
    assert verifier.feed_sealed(_rows(events[3:])) == 3
    report = verifier.report()
    assert report.intact and report.count == 3 and report.last_seq == 6

    wrong = ChainVerifier(last_seq=3, head_hash=events[1].hash)
    wrong.feed_sealed(_rows(events[3:]))
    assert wrong.report().first_bad_seq == 4
    assert "prev_hash does not match seq 3" in (wrong.report().problem or "")


def test_a_range_that_stops_short_has_a_gap():
    events = _chain(4)
    verifier = ChainVerifier()
    verifier.feed_sealed(_rows(events[:2]))
    verifier.expect_through(4, None)
    assert verifier.report().first_bad_seq == 3
    assert verifier.report().problem == "gap: expected seq 3, found nothing"

    complete = ChainVerifier()
    complete.feed_sealed(_rows(events))
    complete.expect_through(4, None)
    assert complete.report().intact


def test_an_unreadable_event_breaks_the_chain_there():
    verifier = ChainVerifier(last_seq=6, head_hash="f" * 64)
    verifier.unreadable(7, "Expecting value")
    report = verifier.report()
    assert report.first_bad_seq == 7 and "cannot be read" in (report.problem or "")


def _range_result(events: list[RecordedEvent], lo: int, hi: int, start_hash: str):
    verifier = ChainVerifier(last_seq=lo - 1, head_hash=start_hash)
    verifier.feed_sealed(_rows(events[lo - 1:hi]))
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
    # range's head (seq 3 read differently by the two workers).
    results[1] = (ChainReport(3, 6, events[5].hash), "e" * 64)
    report = stitch(ranges, results)
    assert (report.first_bad_seq, report.count, report.last_seq) == (4, 3, 3)
    assert report.problem == "seq 4: prev_hash does not match seq 3"
