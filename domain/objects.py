"""The four first-class objects, as read-model rows, and the events that change them.

Every field is derived from events alone (payload, seq, occurred_at), never from the
clock at projection time, so a rebuild from the log gives the same rows as the live path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

TODO = "todo"
NOTE = "note"
TRACK = "track"
DECISION = "decision"

TODO_CREATED = "todo.created"
TODO_COMPLETED = "todo.completed"
TODO_REOPENED = "todo.reopened"
TODO_CANCELLED = "todo.cancelled"

NOTE_RECORDED = "note.recorded"

TRACK_STARTED = "track.started"
TRACK_CHECKED_IN = "track.checked_in"
TRACK_PAUSED = "track.paused"
TRACK_RESUMED = "track.resumed"
TRACK_FINISHED = "track.finished"

DECISION_RECORDED = "decision.recorded"
DECISION_SUPERSEDED = "decision.superseded"
DECISION_REVOKED = "decision.revoked"

TODO_STATUSES = ("open", "done", "cancelled")
TODO_PRIORITIES = ("low", "normal", "high", "urgent")
TRACK_STATUSES = ("active", "paused", "done")
DECISION_STATUSES = ("active", "superseded", "revoked")

DEFAULT_CHECK_IN_EVERY = 7


@dataclass(frozen=True)
class Todo:
    id: str
    number: int
    title: str
    description: str | None
    status: str
    priority: str
    due: date | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    source_event_seq: int


@dataclass(frozen=True)
class Note:
    id: str
    number: int
    title: str
    content: str
    tags: tuple[str, ...]
    created_at: datetime
    source_event_seq: int


@dataclass(frozen=True)
class Track:
    id: str
    number: int
    title: str
    description: str | None
    status: str
    check_in_every: int
    last_check_in_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source_event_seq: int


@dataclass(frozen=True)
class Decision:
    id: str
    number: int
    title: str
    rationale: str | None
    options: tuple[str, ...]
    status: str
    decided_at: datetime
    supersedes: str | None
    superseded_by: str | None
    source_event_seq: int
    updated_at: datetime
