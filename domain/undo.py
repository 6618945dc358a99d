"""Undo: reverse the owner's last change made in the conversation, with compensating events.

A change is what one message set off (its derived events, `metadata.caused_by_seq`). Undo
walks back from the newest event, passes over changes already undone and the undos
themselves, and reverses the first change it meets, if it was recorded within
`UNDO_WINDOW`: each of its events, newest first, gets a `<kind>.undone` event carrying the
values it puts back (`restore`, in the events' own form, applied by domain/projections.py).
Nothing is deleted: the change and its undoing both stay in the log. Changes made over
HTTP have no message behind them and are not undone here.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from domain.changes import event, record, whole_history
from domain.derivation import CAUSED_BY_SEQ
from domain.errors import Conflict, NotFound
from domain.events import RecordedEvent
from domain.objects import (
    DECISION_RECORDED,
    DECISION_REVIEWED,
    DECISION_REVOKED,
    DECISION_SUPERSEDED,
    NOTE_ARCHIVED,
    NOTE_EDITED,
    NOTE_RECORDED,
    TODO_CANCELLED,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_EDITED,
    TODO_REOPENED,
    TRACK_CHECKED_IN,
    TRACK_FINISHED,
    TRACK_PAUSED,
    TRACK_RESUMED,
    TRACK_STARTED,
    UNDONE,
)
from domain.repositories import ObjectUnitOfWork

UNDO_WINDOW = timedelta(minutes=15)
UNDO_COMMAND = "undo"
_PAGE = 200
_LOOK_BACK = 5000  # events; past this many, the last change is long out of the window

# What undoing a creation leaves: the object stays, in its kind's closing status.
_CREATED = {
    TODO_CREATED: {"status": "cancelled"},
    NOTE_RECORDED: {"status": "archived"},
    TRACK_STARTED: {"status": "done"},
    DECISION_RECORDED: {"status": "revoked", "revoke_reason": "undone"},
}
# The status a change left, and the one it came from when an older event does not say.
_MOVED = {
    TODO_COMPLETED: ("done", "open"),
    TODO_CANCELLED: ("cancelled", "open"),
    TODO_REOPENED: ("open", None),
    NOTE_ARCHIVED: ("archived", "active"),
    TRACK_PAUSED: ("paused", "active"),
    TRACK_RESUMED: ("active", "paused"),
    TRACK_FINISHED: ("done", None),
    DECISION_SUPERSEDED: ("superseded", "active"),
    DECISION_REVOKED: ("revoked", "active"),
}
_CHANGED = {TODO_EDITED, NOTE_EDITED, TRACK_CHECKED_IN, DECISION_REVIEWED}
UNDOABLE = frozenset((*_CREATED, *_MOVED, *_CHANGED))


async def undo_last(
    uow: ObjectUnitOfWork, now: datetime, message: RecordedEvent
) -> list[RecordedEvent]:
    """Reverse the last change before `message` (the /undo itself); NotFound when there
    is none, Conflict when it is past the window or its objects changed since."""
    change = await _last_change(uow, message.seq)
    if change is None:
        raise NotFound("there is nothing to undo")
    age = now - change[-1].recorded_at
    if age > UNDO_WINDOW:
        minutes = int(age.total_seconds() // 60)
        raise Conflict(
            f"the last change was {_ago(minutes)}; /undo reaches back "
            f"{int(UNDO_WINDOW.total_seconds() // 60)} minutes"
        )
    metadata = {CAUSED_BY_SEQ: message.seq, "command": UNDO_COMMAND}
    undoing = []
    for done in reversed(change):
        restore = await _restore(uow, done)
        payload = {
            "number": done.payload["number"],
            "title": _title(done),
            "undoes": done.seq,
            "undoes_type": done.type,
            "undoes_message": done.metadata[CAUSED_BY_SEQ],
            "restore": restore,
        }
        undoing.append(
            event(
                f"{done.aggregate_type}.{UNDONE}",
                done.aggregate_type,
                done.aggregate_id,
                payload,
                metadata,
            )
        )
    return await record(uow, undoing)


async def _last_change(uow: ObjectUnitOfWork, before: int) -> list[RecordedEvent] | None:
    """The events of the newest change before seq `before` that is not an undo and was
    not undone, in seq order."""
    undone: set[int] = set()
    group: list[RecordedEvent] = []
    upto = before - 1
    while upto > 0 and before - upto <= _LOOK_BACK:
        start = max(0, upto - _PAGE)
        page = await uow.events.read(after_seq=start, limit=upto - start)
        for one in reversed(page):
            cause = one.metadata.get(CAUSED_BY_SEQ)
            if one.type.endswith(f".{UNDONE}"):
                undone.add(one.payload["undoes_message"])
            elif cause is not None and one.type in UNDOABLE and cause not in undone:
                group.append(one)
            elif group and one.seq == group[-1].metadata[CAUSED_BY_SEQ]:
                return group[::-1]  # reached the message that made the change
        upto = start
    return group[::-1] or None


async def _restore(uow: ObjectUnitOfWork, done: RecordedEvent) -> dict[str, Any]:
    """The values that reverse `done`, checking the object still stands as `done` left it."""
    p, kind = done.payload, done.aggregate_type
    models: Any = getattr(uow, f"{kind}s")
    current = await models.get(done.aggregate_id)
    if current is None:  # pragma: no cover - the log and the models agree (make verify)
        raise NotFound(f"there is no {kind} {p['number']}")
    if done.type in _CREATED:
        _still(current, "status", _initial(kind), done)
        return dict(_CREATED[done.type])
    if done.type in _MOVED:
        left, came_from = _MOVED[done.type]
        _still(current, "status", left, done)
        came_from = p.get("from", came_from)
        if came_from is None:
            raise Conflict(f"{kind} {p['number']} was changed before undo could say how")
        restore: dict[str, Any] = {"status": came_from}
        if done.type == TODO_COMPLETED:
            restore["completed_at"] = None
        elif done.type == TODO_REOPENED and came_from == "done":
            restore["completed_at"] = await _completed_at(uow, done)
        elif done.type == DECISION_SUPERSEDED:
            restore["superseded_by"] = None
        elif done.type == DECISION_REVOKED:
            restore["revoke_reason"] = None
        return restore
    before: Mapping[str, Any] = p["before"]
    if done.type in (TODO_EDITED, NOTE_EDITED):
        for name, value in p["changes"].items():
            if name != "due":  # a due is compared as the events wrote it, below
                _still(current, name, tuple(value) if isinstance(value, list) else value, done)
    return dict(before)


def _initial(kind: str) -> str:
    return "open" if kind == "todo" else "active"


def _still(current: Any, name: str, expected: Any, done: RecordedEvent) -> None:
    if getattr(current, name) != expected:
        raise Conflict(
            f"{done.aggregate_type} {done.payload['number']} has changed since; nothing was undone"
        )


async def _completed_at(uow: ObjectUnitOfWork, reopened: RecordedEvent) -> str | None:
    completed = [
        e
        for e in await whole_history(uow.events, reopened.aggregate_id)
        if e.type == TODO_COMPLETED and e.seq < reopened.seq
    ]
    return completed[-1].occurred_at.isoformat() if completed else None


def _title(done: RecordedEvent) -> str:
    p = done.payload
    if done.type in (TODO_EDITED, NOTE_EDITED) and "title" in p["changes"]:
        title: str = p["changes"]["title"]
    else:
        title = p.get("title", "")
    return title


def _ago(minutes: int) -> str:
    if minutes < 120:
        return f"{minutes} minutes ago"
    return f"{minutes // 60} hours ago" if minutes < 48 * 60 else f"{minutes // 1440} days ago"
