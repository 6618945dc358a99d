"""The four first-class objects, as read-model rows, and the events that change them.

Every field is derived from events alone (payload, seq, occurred_at), never from the
clock at projection time, so a rebuild from the log gives the same rows as the live path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

TODO = "todo"
NOTE = "note"
TRACK = "track"
DECISION = "decision"

TODO_CREATED = "todo.created"
TODO_COMPLETED = "todo.completed"
TODO_REOPENED = "todo.reopened"
TODO_CANCELLED = "todo.cancelled"
TODO_EDITED = "todo.edited"

NOTE_RECORDED = "note.recorded"
NOTE_EDITED = "note.edited"
NOTE_ARCHIVED = "note.archived"

TRACK_STARTED = "track.started"
TRACK_CHECKED_IN = "track.checked_in"
TRACK_PAUSED = "track.paused"
TRACK_RESUMED = "track.resumed"
TRACK_FINISHED = "track.finished"

DECISION_RECORDED = "decision.recorded"
DECISION_SUPERSEDED = "decision.superseded"
DECISION_REVOKED = "decision.revoked"
DECISION_REVIEWED = "decision.reviewed"

# A compensating event per kind (`<kind>.undone`): what `/undo` records to reverse a
# change, carrying the values it puts back (domain/undo.py).
UNDONE = "undone"

TODO_STATUSES = ("open", "done", "cancelled")
TODO_PRIORITIES = ("low", "normal", "high", "urgent")
NOTE_STATUSES = ("active", "archived")
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
    # The due instant, when a time of day was given; `due` is then its date in the zone
    # it was given in (the owner's), so lists and the agenda need no zone to order by.
    due_at: datetime | None = None


@dataclass(frozen=True)
class Note:
    id: str
    number: int
    title: str
    content: str
    tags: tuple[str, ...]
    created_at: datetime
    source_event_seq: int
    status: str = "active"
    updated_at: datetime | None = None


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
    check_ins: int = 0
    # Check-ins in a row, each within `check_in_every` days (and one of grace) of the one
    # before (domain/projections.py).
    streak: int = 0


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
    review_on: date | None = None
    outcome: str | None = None
    reviewed_at: datetime | None = None
    revoke_reason: str | None = None


def due_fields(text: str | None) -> tuple[date | None, datetime | None]:
    """An event's due as the read models keep it: (local day, instant in UTC or None)."""
    if not text:
        return None, None
    if "T" not in text:
        return date.fromisoformat(text), None
    moment = datetime.fromisoformat(text)
    return moment.date(), moment.astimezone(UTC)
