"""The hash chain that seals the event log.

Each event's hash is SHA-256 over a canonical JSON of its content and the previous
event's hash, so altering, removing or reordering any recorded event changes every
hash after it. Canonical means: keys sorted, no insignificant white space, UTF-8,
times in ISO 8601 UTC with microseconds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.events import RecordedEvent

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


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


@dataclass(frozen=True)
class ChainReport:
    count: int
    last_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.first_bad_seq is None


class ChainVerifier:
    """Feeds on events in seq order and stops at the first one that breaks the chain."""

    def __init__(self) -> None:
        self.count = 0
        self.last_seq = 0
        self.head_hash = GENESIS_HASH
        self.first_bad_seq: int | None = None
        self.problem: str | None = None

    def feed(self, events: Iterable[RecordedEvent]) -> bool:
        """Check a run of events; False once the chain is broken."""
        for event in events:
            if self.first_bad_seq is not None:
                return False
            self._check(event)
        return self.first_bad_seq is None

    def _check(self, event: RecordedEvent) -> None:
        expected_seq = self.last_seq + 1
        if event.seq != expected_seq:
            self._fail(expected_seq, f"gap: expected seq {expected_seq}, found {event.seq}")
        elif event.prev_hash != self.head_hash:
            self._fail(event.seq, f"seq {event.seq}: prev_hash does not match seq {self.last_seq}")
        elif hash_of(event) != event.hash:
            self._fail(event.seq, f"seq {event.seq}: content does not match its hash")
        else:
            self.count += 1
            self.last_seq = event.seq
            self.head_hash = event.hash

    def _fail(self, seq: int, problem: str) -> None:
        self.first_bad_seq = seq
        self.problem = problem

    def report(self) -> ChainReport:
        return ChainReport(self.count, self.last_seq, self.head_hash, self.first_bad_seq,
                           self.problem)
