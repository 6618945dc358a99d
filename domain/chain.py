"""The hash chain that seals the event log.

Each event's hash is SHA-256 over a canonical JSON of its content and the previous
event's hash, so altering, removing or reordering any recorded event changes every
hash after it. Canonical means: keys sorted, no insignificant white space, UTF-8,
times in ISO 8601 UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.events import RecordedEvent

GENESIS_HASH = "0" * 64


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
# allow_nan=False) builds on every call, built once: the same encoder, the same text.
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """The specification's spelling (public API only). A store that spells many values
    may use a faster one that gives the same text (infrastructure/fast_json.py)."""
    return _ENCODER.encode(value)


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    seq: int,
    event_id: str,
    type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: Any,
    metadata: Any,
    idempotency_key: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    schema_version: int,
    prev_hash: str,
) -> str:
    content = {
        "seq": seq,
        "event_id": event_id,
        "type": type,
        "aggregate_type": aggregate_type,
        "aggregate_id": aggregate_id,
        "payload": payload,
        "metadata": metadata,
        "idempotency_key": idempotency_key,
        "occurred_at": iso_utc(occurred_at),
        "recorded_at": iso_utc(recorded_at),
        "schema_version": schema_version,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def hash_of(event: RecordedEvent) -> str:
    """Recompute the hash an event should carry, from its content and prev_hash."""
    return event_hash(
        seq=event.seq,
        event_id=event.event_id,
        type=event.type,
        aggregate_type=event.aggregate_type,
        aggregate_id=event.aggregate_id,
        payload=event.payload,
        metadata=event.metadata,
        idempotency_key=event.idempotency_key,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        schema_version=event.schema_version,
        prev_hash=event.prev_hash,
    )


GAP, LINK, CONTENT, UNREADABLE = "gap", "link", "content", "unreadable"  # ChainProblem.kind
MAX_PROBLEMS_KEPT = 1000  # a log rewritten wholesale is still counted, not listed in full


@dataclass(frozen=True)
class ChainProblem:
    """`kind`: "gap" (seqs missing from `seq` on; the row after them cannot link, which is
    the gap, not a second problem), "link" (the row's prev_hash is not the recorded hash
    of the row before it), "content" (the row does not hash to its recorded hash),
    "unreadable" (the store cannot read the row back)."""

    seq: int
    kind: str
    detail: str


@dataclass(frozen=True)
class ChainReport:
    """`count`: the rows read (a missing row makes it less than `last_seq`); `last_seq`,
    `head_hash`: the last row read and its recorded hash. `problems`: the first
    MAX_PROBLEMS_KEPT of the `problems_total` found, in seq order; the first is also
    `first_bad_seq` and `problem`."""

    count: int
    last_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None
    problems: tuple[ChainProblem, ...] = ()
    problems_total: int = 0

    @classmethod
    def of(
        cls, count: int, last_seq: int, head_hash: str, problems: Sequence[ChainProblem], total: int
    ) -> ChainReport:
        """`problems`: in seq order, the first `MAX_PROBLEMS_KEPT` (or more) of `total`."""
        kept = tuple(problems[:MAX_PROBLEMS_KEPT])
        if not kept:
            return cls(count, last_seq, head_hash)
        return cls(count, last_seq, head_hash, kept[0].seq, kept[0].detail, kept, total)

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


class ChainVerifier:
    """Feeds on rows in seq order and names every problem in the chain, each once: after
    a row that breaks the chain it goes on from that row's recorded hash, so one altered
    row is one problem, not a break of everything after it."""

    def __init__(self, *, last_seq: int = 0, head_hash: str = GENESIS_HASH) -> None:
        """From the start of the log; or, to check one range of it, from just after
        `last_seq`, whose recorded hash is `head_hash` (`count` counts this range only)."""
        self.count = 0
        self.last_seq = last_seq
        self.head_hash = head_hash
        self.problems: list[ChainProblem] = []
        self.problems_total = 0

    def feed(self, events: Iterable[RecordedEvent]) -> None:
        """Check a run of events. An event whose content cannot be hashed (a value that is
        not JSON) raises, with nothing recorded for it: the caller calls `unreadable`."""
        for event in events:
            intact = hash_of(event) == event.hash
            self._place(event.seq, event.prev_hash, event.hash)
            if not intact:
                self._found(event.seq, CONTENT, f"seq {event.seq}: content does not match its hash")

    def follows(self, seq: int, prev_hash: str, hash_: str) -> bool:
        """Take a row whose content its store has already hashed to `hash_` (a store's
        own spelling of the text `event_hash` covers) if it is the chain's next link, and
        say so; otherwise change nothing: the caller then judges the row by its content
        (`feed([event])`, or `unreadable`). The fast path of a store's verification."""
        if seq != self.last_seq + 1 or prev_hash != self.head_hash:
            return False
        self.count += 1
        self.last_seq, self.head_hash = seq, hash_
        return True

    def unreadable(self, seq: int, prev_hash: str, hash_: str, reason: str) -> None:
        """The store cannot read the row back (its JSON or a time does not parse):
        whatever it was sealed with, it no longer holds it."""
        self._place(seq, prev_hash, hash_)
        self._found(seq, UNREADABLE, f"seq {seq}: content cannot be read ({reason})")

    def _place(self, seq: int, prev_hash: str, hash_: str) -> None:
        """Where the row stands in the chain: a gap before it or a broken link is a
        problem; either way the chain goes on from the row's recorded hash."""
        expected = self.last_seq + 1
        if seq > expected:
            self._found(
                expected,
                GAP,
                f"seq {expected} is missing"
                if seq == expected + 1
                else f"seqs {expected}..{seq - 1} are missing",
            )
        elif seq != expected or prev_hash != self.head_hash:
            self._found(seq, LINK, f"seq {seq}: prev_hash does not match seq {self.last_seq}")
        self.count += 1
        self.last_seq, self.head_hash = seq, hash_

    def _found(self, seq: int, kind: str, detail: str) -> None:
        self.problems_total += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(ChainProblem(seq, kind, detail))

    @property
    def broken(self) -> bool:
        return self.problems_total > 0

    def report(self) -> ChainReport:
        return ChainReport.of(
            self.count, self.last_seq, self.head_hash, self.problems, self.problems_total
        )
