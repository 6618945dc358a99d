"""One seq range of a SQLite event log's hash chain, checked straight from the file.

Verify is bound by the CPU (reading each row, spelling the text its hash covers, hashing
it), so `make verify` splits the log into ranges checked by worker processes
(infrastructure/sqlite/chain_worker.py, started by infrastructure/sqlite/verification.py).
This module is what a worker runs: the standard library's `sqlite3` on a read-only
connection, and `domain.chain`, nothing heavier, so that a worker starts in tens of
milliseconds.

Each row's text (what `infrastructure.sealing.sealed_text` spells, and
tests/unit/test_sealed_spellings.py holds to `domain.chain.event_hash`) is spelled as
bytes from its columns fetched as BLOB: the strings go in between quotes as they are,
payload and metadata as stored (canonical JSON), times turned back from `stored_time`.
Text that hashes right is the very text that was sealed; but accepting it also needs the
spelling to be unambiguous, so that no other content spells the same bytes.
`sealed_rows` gives a row no text (the row is then judged by its parsed content, by
`domain.chain.hash_of`) unless:

- every column holds the storage class our writes give it (a BLOB that spells the same
  text is not the same content);
- the short strings and the times hold no `"` and no `\\`: then each is the whole run
  between its quotes and needs no escaping (a control character needs escaping too, but
  then the text cannot be canonical JSON, so it cannot hash right);
- neither metadata nor payload holds `,"occurred_at":"`, the key between them: with the
  strings fixed from the left, and from the right the type, seq, schema_version, times
  and prev_hash (an accepted row's is the hash before it, 64 hex digits), that key is the
  one place where bytes taken from metadata could be moved into payload (or the other
  way, with a forged time between them) and still spell the same text.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from hashlib import sha256
from pathlib import Path
from typing import Any

from domain.chain import GENESIS_HASH, ChainReport, ChainVerifier
from domain.events import LogHead, RecordedEvent
from infrastructure.sealing import SEALED_SPLIT

PAGE_SIZE = 500

# type comes as NULL unless every column holds the storage class our writes give it:
# `< x''` is true of TEXT and numbers, false of a BLOB, NULL of NULL, and `>= ''` false of
# numbers (https://www.sqlite.org/datatype3.html#sort_order): a comparison each instead of
# a typeof() call each. schema_version's class is checked in Python.
SCAN = """SELECT seq, prev_hash, hash, CAST(aggregate_id AS BLOB),
  CAST(aggregate_type AS BLOB), CAST(event_id AS BLOB), CAST(idempotency_key AS BLOB),
  CAST(metadata AS BLOB), CAST(occurred_at AS BLOB), CAST(payload AS BLOB),
  CAST(recorded_at AS BLOB), schema_version,
  CASE WHEN aggregate_id < x'' AND aggregate_type < x'' AND event_id < x'' AND type < x''
    AND occurred_at < x'' AND recorded_at < x'' AND metadata < x'' AND payload < x''
    AND prev_hash >= '' AND prev_hash < x'' AND (idempotency_key < x'') IS NOT FALSE
  THEN CAST(type AS BLOB) END
FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq"""
_QUOTE, _BACKSLASH, _PLUS = b'"\\+'
_OCCURRED_KEY = SEALED_SPLIT.encode()

Progress = Callable[[int], None]
SealedRow = tuple[int, str, str, bytes | None]  # seq, prev_hash, hash, the sealed text


def connect(path: str | Path) -> sqlite3.Connection:
    """Read-only: verify never writes, whatever runs it (https://www.sqlite.org/uri.html)."""
    return sqlite3.connect(
        f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None
    )


def read_head(path: str | Path) -> LogHead:
    with closing(connect(path)) as conn:
        row = conn.execute("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1").fetchone()
    return LogHead(row[0], row[1]) if row else LogHead(0, GENESIS_HASH)


def sealed_rows(rows: Sequence[tuple[Any, ...]]) -> list[SealedRow]:
    """`SCAN` rows with the sealed text as bytes, or None where the spelling could be
    ambiguous (see the module's docstring)."""
    join = b"".join
    sealed: list[SealedRow] = []
    append = sealed.append
    for (
        seq,
        prev,
        hash_,
        aid,
        atype,
        eid,
        key,
        meta,
        occurred,
        payload,
        recorded,
        version,
        type_,
    ) in rows:
        text = None
        if type_ is not None and version.__class__ is int:
            short = join((aid, atype, eid, occurred, recorded, type_, key or b""))
            # The key between metadata and payload comes with a time, so with a '+'
            # (`+00:00`), which JSON rarely holds: one memchr each spares the search
            # for the whole key in most rows.
            if (
                _QUOTE not in short
                and _BACKSLASH not in short
                and (
                    _PLUS not in meta
                    and _PLUS not in payload
                    or _OCCURRED_KEY not in meta
                    and _OCCURRED_KEY not in payload
                )
            ):
                text = join(
                    (
                        b'{"aggregate_id":"',
                        aid,
                        b'","aggregate_type":"',
                        atype,
                        b'","event_id":"',
                        eid,
                        b'","idempotency_key":',
                        b"null" if key is None else b'"%s"' % key,
                        b',"metadata":',
                        meta,
                        b',"occurred_at":"',
                        occurred.replace(b" ", b"T"),
                        b'+00:00","payload":',
                        payload,
                        b',"prev_hash":"',
                        prev.encode(),
                        b'","recorded_at":"',
                        recorded.replace(b" ", b"T"),
                        b'+00:00","schema_version":',
                        b"%d" % version,
                        b',"seq":',
                        b"%d" % seq,
                        b',"type":"',
                        type_,
                        b'"}',
                    )
                )
        append((seq, prev, hash_, text))
    return sealed


def scan_range(
    path: str | Path,
    lo: int,
    hi: int,
    *,
    progress: Progress | None = None,
    page_size: int = PAGE_SIZE,
) -> tuple[ChainReport, str]:
    """Check the rows with seqs lo..hi (hi at most a head read before), linked to the last
    row before lo; returns the range's report and that row's recorded hash, on which the
    range before this one must end. Rows missing before a row are reported by the range
    that holds the row, so a gap across ranges is reported once; rows missing after the
    last one (the log's tail) are not seen."""
    with closing(connect(path)) as conn:
        conn.execute("BEGIN")  # one snapshot for the whole range
        start_seq, start_hash = _start(conn, lo)
        verifier = ChainVerifier(last_seq=start_seq, head_hash=start_hash)
        cursor = conn.execute(SCAN, (lo, hi))
        while rows := cursor.fetchmany(page_size):
            _feed(conn, verifier, sealed_rows(rows))
            if progress:
                progress(len(rows))
        cursor.close()
        return verifier.report(), start_hash


def _feed(conn: sqlite3.Connection, verifier: ChainVerifier, rows: list[SealedRow]) -> None:
    """A row whose text hashes right and links is taken; any other is judged by its
    parsed content."""
    follows = verifier.follows
    for seq, prev_hash, hash_, text in rows:
        if (
            text is not None
            and sha256(text).hexdigest() == hash_
            and follows(seq, prev_hash, hash_)
        ):
            continue
        try:
            event = _read_event(conn, seq)
            if event is None:  # not in this snapshot: cannot be, but no verdict from it
                verifier.unreadable(seq, prev_hash, hash_, "it is no longer there")
            else:
                verifier.feed([event])
        except (TypeError, ValueError) as e:  # not JSON, not a time, not text
            verifier.unreadable(seq, prev_hash, hash_, str(e))


def _read_event(conn: sqlite3.Connection, seq: int) -> RecordedEvent | None:
    from infrastructure.sqlite.event_rows import SELECT_EVENTS, to_event

    row = conn.execute(f"{SELECT_EVENTS} WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else to_event(row)


def _start(conn: sqlite3.Connection, lo: int) -> tuple[int, str]:
    """The last row before seq `lo` (seq and recorded hash), or the start of the chain."""
    if lo == 1:
        return 0, GENESIS_HASH
    row = conn.execute(
        "SELECT seq, hash FROM events WHERE seq > 0 AND seq < ? ORDER BY seq DESC LIMIT 1", (lo,)
    ).fetchone()
    return (0, GENESIS_HASH) if row is None else (row[0], row[1])
