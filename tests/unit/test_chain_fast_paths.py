"""The fast paths of the chain give the same bytes and the same verdicts as the slow ones."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

from domain.chain import (
    GENESIS_HASH,
    ChainVerifier,
    canonical_json,
    event_hash,
    hash_of,
    iso_utc,
    sealed_text,
    sealed_text_of,
)
from domain.events import RecordedEvent

_PIECES = ["a", "ü", "\n", '"', "\\", "\u2028", "😀", "\x01", "/", "<", "\x7f"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8)))


def test_the_sealed_text_hashes_to_event_hash_byte_for_byte():
    rng = random.Random(7)
    for _ in range(500):
        fields = dict(seq=rng.randint(1, 10**12), event_id=_text(rng), type=_text(rng),
                      aggregate_type=_text(rng), aggregate_id=_text(rng),
                      idempotency_key=rng.choice([None, _text(rng)]),
                      schema_version=rng.randint(1, 3), prev_hash=_text(rng))
        payload = {_text(rng): _text(rng), "n": rng.random(), "l": [1, None, True, _text(rng)]}
        metadata = {_text(rng): {"deep": [_text(rng)]}}
        occurred = datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=3))) + timedelta(
            microseconds=rng.randint(0, 10**12))
        recorded = datetime.now(UTC)
        assert event_hash(**fields, payload=payload, metadata=metadata, occurred_at=occurred,
                          recorded_at=recorded) == hashlib.sha256(sealed_text(
            **fields, payload_json=canonical_json(payload),
            metadata_json=canonical_json(metadata), occurred_at_iso=iso_utc(occurred),
            recorded_at_iso=iso_utc(recorded)).encode("utf-8")).hexdigest()


def test_the_sealed_text_spells_a_value_that_is_not_a_str_as_canonical_json_does():
    """Strings take a fast path; any other value (an int id, say) must still hash alike."""
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for odd in ({"aggregate_id": 42}, {"type": None}, {"event_id": 7.5},
                {"idempotency_key": 3}):
        fields = dict(seq=1, event_id="e", type="t.happened", aggregate_type="t",
                      aggregate_id="a", idempotency_key=None, schema_version=1,
                      prev_hash=GENESIS_HASH) | odd
        assert event_hash(**fields, payload={}, metadata={}, occurred_at=at,
                          recorded_at=at) == hashlib.sha256(sealed_text(
            **fields, payload_json="{}", metadata_json="{}", occurred_at_iso=iso_utc(at),
            recorded_at_iso=iso_utc(at)).encode("utf-8")).hexdigest()


def _chain(n: int) -> list[RecordedEvent]:
    events, prev = [], GENESIS_HASH
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for seq in range(1, n + 1):
        fields = dict(seq=seq, event_id=str(uuid.uuid4()), type="t.happened",
                      aggregate_type="t", aggregate_id="a", payload={"n": seq, "x": "y"},
                      metadata={}, idempotency_key=None, occurred_at=at, recorded_at=at,
                      schema_version=1, prev_hash=prev)
        events.append(RecordedEvent(**fields, hash=event_hash(**fields)))
        prev = events[-1].hash
    return events


def test_text_spelled_another_way_is_judged_by_its_content():
    events = _chain(3)
    rows = [(e.seq, e.prev_hash, e.hash, sealed_text_of(e)) for e in events]
    rows[1] = (*rows[1][:3], rows[1][3].replace('"n":2,', '"n": 2,'))  # jsonb-like spacing
    verifier = ChainVerifier()
    at = verifier.feed_sealed(rows)
    assert at == 1 and not verifier.broken  # not a verdict: the event decides
    verifier.feed([events[1]])
    assert not verifier.broken and hash_of(events[1]) == events[1].hash
    assert verifier.feed_sealed(rows, at + 1) == 3
    report = verifier.report()
    assert report.intact and report.count == 3 and report.head_hash == events[-1].hash


def test_a_gap_or_a_broken_link_is_left_to_the_event_that_decides():
    events = _chain(4)
    rows = [(e.seq, e.prev_hash, e.hash, sealed_text_of(e)) for e in events]
    verifier = ChainVerifier()
    assert verifier.feed_sealed([rows[0], rows[2]]) == 1 and not verifier.broken
    verifier.feed([events[2]])
    assert verifier.report().first_bad_seq == 2
    verifier = ChainVerifier()
    assert verifier.feed_sealed([rows[0], (rows[1][0], "0" * 64, *rows[1][2:])]) == 1
    verifier.feed([events[1]._replace(prev_hash="0" * 64)])
    assert verifier.report().first_bad_seq == 2

