"""Projections: the only code that writes the read models, from recorded events.

The services call `project` right after appending, and a rebuild calls it for every event
in seq order over empty tables; both paths therefore give the same rows. Times come from
the event (`occurred_at`), never from a clock, so a replay reproduces them exactly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from domain.clock import zone_named
from domain.errors import InvalidInput
from domain.events import RecordedEvent
from domain.objects import (
    DECISION,
    DECISION_RECORDED,
    DECISION_REVIEWED,
    DECISION_REVOKED,
    DECISION_SUPERSEDED,
    NOTE,
    NOTE_ARCHIVED,
    NOTE_EDITED,
    NOTE_RECORDED,
    TODO,
    TODO_CANCELLED,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_EDITED,
    TODO_REOPENED,
    TRACK,
    TRACK_CHECKED_IN,
    TRACK_FINISHED,
    TRACK_PAUSED,
    TRACK_RESUMED,
    TRACK_STARTED,
    UNDONE,
    Decision,
    Note,
    Todo,
    Track,
    due_fields,
)
from domain.repositories import ReadModels
from domain.search_index import entry_of, kind_of


class ProjectionError(Exception):
    """An event names an object the read models do not hold: the log and the tables
    disagree, which no request can fix, so it is not a DomainError."""


async def project(event: RecordedEvent, models: ReadModels) -> None:
    """Apply one event to the read models; events of other kinds are ignored."""
    handler = _HANDLERS.get(event.type)
    if handler is not None:
        await handler(event, models)


async def project_all(events: Iterable[RecordedEvent], models: ReadModels) -> int:
    """Apply events in the order given (seq order for a rebuild); returns how many."""
    count = 0
    for event in events:
        await project(event, models)
        count += 1
    return count


def _source_seq(event: RecordedEvent) -> int:
    source = event.payload.get("source_event_seq")
    return event.seq if source is None else int(source)


def _missing(event: RecordedEvent) -> ProjectionError:
    return ProjectionError(
        f"event {event.seq} ({event.type}) names {event.aggregate_type} "
        f"{event.aggregate_id}, which the read models do not hold"
    )


async def _todo_created(event: RecordedEvent, models: ReadModels) -> None:
    p, at = event.payload, event.occurred_at
    due, due_at = due_fields(p.get("due"))
    todo = Todo(
        id=event.aggregate_id,
        number=int(p["number"]),
        title=p["title"],
        description=p.get("description"),
        status="open",
        priority=p["priority"],
        due=due,
        tags=tuple(p.get("tags", ())),
        created_at=at,
        updated_at=at,
        completed_at=None,
        source_event_seq=_source_seq(event),
        due_at=due_at,
    )
    await models.todos.add(todo)
    await _index(models, todo)


async def _todo_changed(event: RecordedEvent, models: ReadModels) -> None:
    todo = await models.todos.get(event.aggregate_id)
    if todo is None:
        raise _missing(event)
    at = event.occurred_at
    if event.type == TODO_COMPLETED:
        todo = replace(todo, status="done", completed_at=at)
    elif event.type == TODO_REOPENED:
        todo = replace(todo, status="open", completed_at=None)
    else:
        todo = replace(todo, status="cancelled", completed_at=None)
    todo = replace(todo, updated_at=at)
    await models.todos.update(todo)
    await _index(models, todo)


async def _note_recorded(event: RecordedEvent, models: ReadModels) -> None:
    p = event.payload
    note = Note(
        id=event.aggregate_id,
        number=int(p["number"]),
        title=p["title"],
        content=p.get("content", ""),
        tags=tuple(p.get("tags", ())),
        created_at=event.occurred_at,
        source_event_seq=_source_seq(event),
        status="active",
        updated_at=event.occurred_at,
    )
    await models.notes.add(note)
    await _index(models, note)


async def _track_started(event: RecordedEvent, models: ReadModels) -> None:
    p, at = event.payload, event.occurred_at
    track = Track(
        id=event.aggregate_id,
        number=int(p["number"]),
        title=p["title"],
        description=p.get("description"),
        status="active",
        check_in_every=int(p["check_in_every"]),
        last_check_in_at=None,
        created_at=at,
        updated_at=at,
        source_event_seq=_source_seq(event),
    )
    await models.tracks.add(track)
    await _index(models, track)


async def _track_changed(event: RecordedEvent, models: ReadModels) -> None:
    track = await models.tracks.get(event.aggregate_id)
    if track is None:
        raise _missing(event)
    at = event.occurred_at
    if event.type == TRACK_CHECKED_IN:
        track = replace(
            track,
            last_check_in_at=at,
            check_ins=track.check_ins + 1,
            streak=_streak(track, at, event.payload.get("zone")),
        )
    else:
        status = {TRACK_PAUSED: "paused", TRACK_RESUMED: "active", TRACK_FINISHED: "done"}
        track = replace(track, status=status[event.type])
    track = replace(track, updated_at=at)
    await models.tracks.update(track)
    if event.type != TRACK_CHECKED_IN:  # a check-in changes nothing searchable
        await _index(models, track)


def _streak(track: Track, at: datetime, zone_said: object) -> int:
    """Days in a row with a check-in, counted in the zone the check-in names (UTC for
    one recorded before check-ins named it): another check-in on the same day adds
    none; one within the interval of the day before, with a day of grace, adds one;
    later, the streak starts again."""
    last = track.last_check_in_at
    if last is None:
        return 1
    try:
        zone = zone_named(zone_said if zone_said is not None else "UTC")
    except InvalidInput:
        zone = UTC
    days = (at.astimezone(zone).date() - last.astimezone(zone).date()).days
    if days <= 0:
        return max(track.streak, 1)
    return track.streak + 1 if days <= track.check_in_every + 1 else 1


async def _decision_recorded(event: RecordedEvent, models: ReadModels) -> None:
    p, at = event.payload, event.occurred_at
    decision = Decision(
        id=event.aggregate_id,
        number=int(p["number"]),
        title=p["title"],
        rationale=p.get("rationale"),
        options=tuple(p.get("options", ())),
        status="active",
        decided_at=at,
        supersedes=p.get("supersedes"),
        superseded_by=None,
        source_event_seq=_source_seq(event),
        updated_at=at,
        review_on=date.fromisoformat(p["review_on"]) if p.get("review_on") else None,
    )
    await models.decisions.add(decision)
    await _index(models, decision)


async def _decision_changed(event: RecordedEvent, models: ReadModels) -> None:
    decision = await models.decisions.get(event.aggregate_id)
    if decision is None:
        raise _missing(event)
    p, at = event.payload, event.occurred_at
    changes: dict[str, Any]
    if event.type == DECISION_SUPERSEDED:
        changes = {"status": "superseded", "superseded_by": p["superseded_by"]}
    elif event.type == DECISION_REVIEWED:
        changes = {"outcome": p["outcome"], "reviewed_at": at}
    else:
        changes = {"status": "revoked", "revoke_reason": p.get("reason")}
    decision = replace(decision, **changes, updated_at=at)
    await models.decisions.update(decision)
    await _index(models, decision)


async def _edited(event: RecordedEvent, models: ReadModels) -> None:
    """`todo.edited` and `note.edited` set the fields in `changes`."""
    await _set(event, models, event.payload["changes"])


async def _note_archived(event: RecordedEvent, models: ReadModels) -> None:
    await _set(event, models, {"status": "archived"})


async def _undone(event: RecordedEvent, models: ReadModels) -> None:
    """`<kind>.undone` puts back the fields in `restore` (domain/undo.py)."""
    await _set(event, models, event.payload["restore"])


_REPOSITORY = {TODO: "todos", NOTE: "notes", TRACK: "tracks", DECISION: "decisions"}


async def _set(event: RecordedEvent, models: ReadModels, values: dict[str, Any]) -> None:
    """Set fields, given as events write them, on the object the event names."""
    repository: Any = getattr(models, _REPOSITORY[event.aggregate_type])
    found = await repository.get(event.aggregate_id)
    if found is None:
        raise _missing(event)
    fields: dict[str, Any] = {}
    for name, value in values.items():
        if name == "due":
            fields["due"], fields["due_at"] = due_fields(value)
        elif name.endswith("_at"):
            fields[name] = datetime.fromisoformat(value) if value else None
        elif name in ("tags", "options"):
            fields[name] = tuple(value)
        else:
            fields[name] = value
    if hasattr(found, "updated_at"):
        fields["updated_at"] = event.occurred_at
    changed = replace(found, **fields)
    await repository.update(changed)
    await _index(models, changed)


async def _index(models: ReadModels, obj: Todo | Note | Track | Decision) -> None:
    """Keep the object's search entry as the object now is (an archived note has none)."""
    entry = entry_of(obj)
    if entry is None:
        await models.search.remove(kind_of(obj), obj.number)
    else:
        await models.search.put(entry)


_HANDLERS: dict[str, Callable[[RecordedEvent, ReadModels], Awaitable[None]]] = {
    TODO_CREATED: _todo_created,
    TODO_COMPLETED: _todo_changed,
    TODO_REOPENED: _todo_changed,
    TODO_CANCELLED: _todo_changed,
    TODO_EDITED: _edited,
    NOTE_RECORDED: _note_recorded,
    NOTE_EDITED: _edited,
    NOTE_ARCHIVED: _note_archived,
    TRACK_STARTED: _track_started,
    TRACK_CHECKED_IN: _track_changed,
    TRACK_PAUSED: _track_changed,
    TRACK_RESUMED: _track_changed,
    TRACK_FINISHED: _track_changed,
    DECISION_RECORDED: _decision_recorded,
    DECISION_SUPERSEDED: _decision_changed,
    DECISION_REVOKED: _decision_changed,
    DECISION_REVIEWED: _decision_changed,
    **{f"{kind}.{UNDONE}": _undone for kind in _REPOSITORY},
}

# The event types `project` applies; every other type leaves the read models alone.
PROJECTED_TYPES = frozenset(_HANDLERS)
