"""Events as the domain sees them: a new one to append, and one the log has recorded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

JsonObject = Mapping[str, Any]


# The metadata of an event given none: empty, and read-only, since every such event
# shares it.
NO_METADATA: JsonObject = MappingProxyType({})


class NewEvent(NamedTuple):
    """An event a service wants appended; the store assigns seq, ids, times and hashes.

    A NamedTuple, as RecordedEvent: a bulk ingest builds one per message."""

    type: str
    aggregate_type: str
    aggregate_id: str
    payload: JsonObject
    metadata: JsonObject = NO_METADATA
    idempotency_key: str | None = None
    occurred_at: datetime | None = None
    schema_version: int = 1


class RecordedEvent(NamedTuple):
    """An event as it stands in the log, with its place in the hash chain.

    Immutable, as a tuple: building one costs a fifth of a frozen dataclass, and the bulk
    paths, rebuild and verify build one per event."""

    seq: int
    event_id: str
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: JsonObject
    metadata: JsonObject
    idempotency_key: str | None
    occurred_at: datetime
    recorded_at: datetime
    schema_version: int
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class LogHead:
    """The end of the log: how many events there are and the hash that seals them."""

    last_seq: int
    last_hash: str

    @property
    def count(self) -> int:
        # seq starts at 1 and is gap-free, so the last seq is the count.
        return self.last_seq
