"""What the object services share: naming an object, cleaning input, recording a change.

A change is recorded by appending its events and projecting each one into the read models
in the same unit of work, through the same `project` a rebuild uses.
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, Protocol, TypeVar

from domain.errors import Conflict, InvalidInput, NotFound
from domain.events import NewEvent, RecordedEvent
from domain.ports import EventStore
from domain.projections import project
from domain.repositories import ObjectUnitOfWork

Ref = str | int
"""An object named by its id (a uuid string) or its short number (3 or "3")."""

T = TypeVar("T", covariant=True)


async def whole_history(events: EventStore, aggregate_id: str) -> list[RecordedEvent]:
    """Every event about one object, in seq order, page by page."""
    found: list[RecordedEvent] = []
    while page := await events.history(
        aggregate_id, after_seq=found[-1].seq if found else 0, limit=_HISTORY_PAGE
    ):
        found += page
        if len(page) < _HISTORY_PAGE:
            break
    return found


_HISTORY_PAGE = 500


class _Lookup(Protocol[T]):
    async def get(self, id: str) -> T | None: ...

    async def get_by_number(self, number: int) -> T | None: ...


async def find(repository: _Lookup[T], ref: Ref, kind: str) -> T:
    """The object named by `ref`, or NotFound."""
    if isinstance(ref, bool) or not isinstance(ref, int | str):
        raise InvalidInput(f"a {kind} is named by its number or id")
    text = str(ref).strip()
    if text.isascii() and text.isdigit():
        found = await repository.get_by_number(int(text))
    else:
        found = await repository.get(text)
    if found is None:
        raise NotFound(f"there is no {kind} {text}")
    return found


async def reload(repository: _Lookup[T], id: str) -> T:
    """An object just projected; its absence would be a bug in the projection."""
    found = await repository.get(id)
    assert found is not None, f"{id} was recorded but not projected"
    return found


def require_status(
    kind: str, number: int, status: str, allowed: Iterable[str], target: str
) -> None:
    """Conflict unless `status` is one a move to `target` may start from."""
    if status not in allowed:
        already = "already " if status == target else ""
        raise Conflict(f"{kind} {number} is {already}{status}")


def title_of(title: object, kind: str) -> str:
    cleaned = title.strip() if isinstance(title, str) else ""
    if not cleaned:
        raise InvalidInput(f"a {kind} needs a title")
    return cleaned


def optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text")
    return value.strip() or None


def text_list(values: Iterable[str] | None, name: str) -> list[str]:
    """Stripped, without blanks or repeats, in the order given."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text")
        value = value.strip()
        if value and value not in cleaned:
            cleaned.append(value)
    return cleaned


def choice(value: object, allowed: tuple[str, ...], name: str) -> str:
    cleaned = value.strip().lower() if isinstance(value, str) else value
    if cleaned not in allowed:
        raise InvalidInput(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(cleaned)


class _Unset(Enum):
    UNSET = "unset"


UNSET: Final = _Unset.UNSET
"""A field an edit leaves as it is (None would clear it)."""

Due = date | datetime
"""A due date, or an aware instant when a time of day was given."""


def due_value(value: Due | str | None) -> Due | None:
    """A date, or an aware datetime; text as ISO 8601 (a time needs its UTC offset)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError as e:
            raise InvalidInput(
                f"due must be a date like 2026-12-31 or a time like 2026-12-31T09:00+01:00, "
                f"not {value!r}"
            ) from e
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidInput("a due time needs its UTC offset, like 2026-12-31T09:00+01:00")
        return value
    if not isinstance(value, date):
        raise InvalidInput("due must be a date or a time")
    return value


def due_text(value: Due | None) -> str | None:
    """How a due is written in an event: the date, or the instant with the offset it was
    given in (the owner's), so its local day can be read back without a time zone."""
    return None if value is None else value.isoformat()


def source_seq(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InvalidInput("source_event_seq must be a positive event seq")
    return value


def event(
    type: str,
    kind: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    at: datetime | None = None,
) -> NewEvent:
    """`at`: when it happened, if not now (an object derived from an imported message
    happened when the message was said)."""
    return NewEvent(
        type=type,
        aggregate_type=kind,
        aggregate_id=aggregate_id,
        payload=dict(payload),
        metadata=dict(metadata or {}),
        occurred_at=at,
    )


async def record(uow: ObjectUnitOfWork, events: list[NewEvent]) -> list[RecordedEvent]:
    """Append the events, then project each recorded one into the read models."""
    recorded = await uow.events.append(events)
    for one in recorded:
        await project(one, uow)
    return recorded


def status_asked(status: str | None, statuses: tuple[str, ...]) -> str | None:
    """The status a list asks for: "all" or None is every one (None); anything else must
    be one of `statuses`."""
    if status is None or status.strip().lower() == "all":
        return None
    return choice(status, statuses, "status")


async def total_of_status(counts: Awaitable[Mapping[str, int]], status: str | None) -> int:
    """How many have this status (every one when None), from a count_by_status."""
    counted = await counts
    return sum(counted.values()) if status is None else counted.get(status, 0)


async def transition(
    uow: ObjectUnitOfWork,
    repository: Any,
    kind: str,
    ref: Ref,
    event_type: str,
    allowed: tuple[str, ...],
    target: str,
    metadata: Mapping[str, Any] | None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[Any, list[RecordedEvent]]:
    """Move an object from one of `allowed` statuses by recording `event_type` on it."""
    found = await find(repository, ref, kind)
    require_status(kind, found.number, found.status, allowed, target)
    # The title and the status it left make the event readable alone: its reply after a
    # redelivery, the object's history, and what an undo puts back.
    payload = {"number": found.number, "title": found.title, "from": found.status, **(extra or {})}
    recorded = await record(uow, [event(event_type, kind, found.id, payload, metadata)])
    return await reload(repository, found.id), recorded


async def edit(
    uow: ObjectUnitOfWork,
    repository: Any,
    kind: str,
    ref: Ref,
    event_type: str,
    changes: Mapping[str, Any],
    metadata: Mapping[str, Any] | None,
    as_stored: Mapping[str, Any] | None = None,
) -> tuple[Any, list[RecordedEvent]]:
    """Record `event_type` with the fields of `changes` that differ from the object's, and
    their values before (`before`, which is what an undo puts back); an edit that changes
    nothing records nothing. `as_stored` gives a field's current value in the event's
    form where the object holds it otherwise (a todo's due)."""
    found = await find(repository, ref, kind)
    current = {name: getattr(found, name) for name in changes}
    current.update(as_stored or {})
    current = {name: list(v) if isinstance(v, tuple) else v for name, v in current.items()}
    changed = {name: value for name, value in changes.items() if current[name] != value}
    if not changed:
        return found, []
    payload = {
        "number": found.number,
        "title": found.title,
        "changes": changed,
        "before": {name: current[name] for name in changed},
    }
    recorded = await record(uow, [event(event_type, kind, found.id, payload, metadata)])
    return await reload(repository, found.id), recorded
