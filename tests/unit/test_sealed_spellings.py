"""Every spelling of the sealed text is the specification's, byte for byte.

The specification is `domain.chain.event_hash`: SHA-256 of `canonical_json` of an event's
content. Two faster spellings stand in for it: `infrastructure.sealing.sealed_text` (every
append, on both backends, and PostgreSQL's verify) and the bytes SQLite's verify builds
from stored columns (infrastructure/sqlite/chain_scan.py). Each is checked here against
`canonical_json` of the content, on a corpus of awkward events; the bytes spelling on rows
as the SQLite backend writes them (`event_rows.to_row`), in a real SQLite file.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.chain import GENESIS_HASH, canonical_json, event_hash, iso_utc
from domain.events import LogHead, NewEvent, RecordedEvent
from infrastructure.sealing import SEALED_SPLIT, Sealed, seal, sealed_text
from infrastructure.sqlite.chain_scan import SCAN, sealed_rows
from infrastructure.sqlite.event_rows import EVENT_COLUMNS, INSERT_EVENT, to_row

_PIECES = [
    "a",
    "ü",
    "\n",
    '"',
    "\\",
    "\u2028",
    "😀",
    "\x01",
    "/",
    "<",
    "\x7f",
    "",
    " ",
    "\t",
    "ß",
    "中文",
    "\u0000"[:0],
    "null",
    "{",
    "}",
    "[",
    ",",
]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8)))


CORPUS: list[NewEvent] = [
    NewEvent("message.ingested", "message", "a", {"text": ""}),
    NewEvent("message.ingested", "message", "a", {"text": 'ünïcode 😀 \u2028 "q" \\ /'}),
    NewEvent(
        "todo.created",
        "todo",
        "t",
        {
            "n": 10**30,
            "f": 1.5e300,
            "z": -0.0,
            "e": 1e16,
            "small": 5e-324,
            "neg": -12345678901234567890,
        },
    ),
    NewEvent(
        "note.recorded",
        "note",
        "n",
        {"deep": {"a": [1, [2, [3, {"b": None}]]]}},
        metadata={"client": {"nested": {"list": [True, False, None, 2.5]}}},
    ),
    NewEvent(
        "x.y",
        "x",
        "\x01\x1f",
        {"": "", " ": " "},
        metadata={"\x7f": "\t"},
        idempotency_key='key "quoted" \\ back',
    ),
    NewEvent("x.y", "x", "k", {"text": SEALED_SPLIT}, metadata={"m": SEALED_SPLIT}),
    NewEvent(
        "x.y",
        "x",
        "k",
        {"z": 1, "a": 2, "ä": 3, "A": 4, "_": 5},
        schema_version=7,
        occurred_at=datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=14))),
    ),
    NewEvent(
        "x.y",
        "x",
        "k",
        {"t": "中文"},
        idempotency_key="",
        occurred_at=datetime(1970, 1, 1, tzinfo=UTC),
    ),
]


def _random_corpus(n: int) -> list[NewEvent]:
    rng = random.Random(7)
    return [
        NewEvent(
            type=_text(rng) or "t",
            aggregate_type=_text(rng),
            aggregate_id=_text(rng),
            payload={_text(rng): _text(rng), "n": rng.random(), "l": [1, None, True, _text(rng)]},
            metadata={_text(rng): {"deep": [_text(rng)]}},
            idempotency_key=rng.choice([None, _text(rng)]),
            occurred_at=datetime(2020, 1, 1, tzinfo=timezone(timedelta(hours=-5)))
            + timedelta(microseconds=rng.randint(0, 10**12)),
            schema_version=rng.randint(1, 3),
        )
        for _ in range(n)
    ]


EVENTS = CORPUS + _random_corpus(200)
RECORDED_AT = datetime(2026, 12, 6, 10, 11, 12, 131415, tzinfo=UTC)


def spec_text(e: RecordedEvent) -> str:
    """What `event_hash` hashes, spelled by the specification itself."""
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
    )


@pytest.fixture(scope="module")
def sealed() -> list[Sealed]:
    return seal(EVENTS, LogHead(41, GENESIS_HASH), RECORDED_AT)


def test_the_spec_text_is_what_event_hash_hashes(sealed: list[Sealed]):
    for item in sealed:
        e = item.event
        fields = e._asdict()
        del fields["hash"]
        assert hashlib.sha256(spec_text(e).encode()).hexdigest() == event_hash(**fields)


@pytest.mark.parametrize("index", range(len(EVENTS)))
def test_sealed_text_spells_the_spec(sealed: list[Sealed], index: int):
    item = sealed[index]
    e = item.event
    spelled = sealed_text(
        e.seq,
        e.event_id,
        e.type,
        e.aggregate_type,
        e.aggregate_id,
        item.payload_json,
        item.metadata_json,
        e.idempotency_key,
        item.occurred_iso,
        item.recorded_iso,
        e.schema_version,
        e.prev_hash,
    )
    assert spelled == spec_text(e)
    assert e.hash == hashlib.sha256(spelled.encode()).hexdigest()


def test_sealed_events_are_chained_from_the_head(sealed: list[Sealed]):
    assert [item.event.seq for item in sealed] == list(range(42, 42 + len(EVENTS)))
    assert sealed[0].event.prev_hash == GENESIS_HASH
    assert all(b.event.prev_hash == a.event.hash for a, b in zip(sealed, sealed[1:], strict=False))


def test_sqlites_bytes_spelling_from_stored_rows_is_the_spec(sealed: list[Sealed], tmp_path: Path):
    """Rows as the SQLite backend stores them, read back as its verify reads them: every
    row gets the spec's bytes, except those holding the key between metadata and payload,
    which get none (and are judged by their content)."""
    with closing(sqlite3.connect(tmp_path / "spellings.db")) as conn:
        conn.execute(f"CREATE TABLE events ({', '.join(EVENT_COLUMNS)})")
        conn.executemany(INSERT_EVENT, [to_row(item) for item in sealed])
        rows = sealed_rows(conn.execute(SCAN, (1, 10**9)).fetchall())
    assert len(rows) == len(sealed)
    for (seq, prev_hash, hash_, text), item in zip(rows, sealed, strict=True):
        e = item.event
        assert (seq, prev_hash, hash_) == (e.seq, e.prev_hash, e.hash)
        strings = (
            e.event_id + e.type + e.aggregate_type + e.aggregate_id + (e.idempotency_key or "")
        )
        if SEALED_SPLIT in item.payload_json or SEALED_SPLIT in item.metadata_json:
            assert text is None
        elif '"' in strings or "\\" in strings:
            assert text is None  # strings that need escaping: left to the content
        elif any(ord(c) < 0x20 for c in strings):
            # Spelled raw, so not canonical JSON: it cannot hash right, and the row is
            # judged by its content.
            assert text is not None and hashlib.sha256(text).hexdigest() != hash_
        else:
            assert text == spec_text(e).encode()
    spelled = sum(text is not None for *_, text in rows)
    assert spelled >= len(CORPUS) // 2  # the fast path is taken, not only refused
