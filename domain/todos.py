"""Todos: created open, then completed, cancelled or reopened, one event per change.

Each function takes a unit of work that is already open, so several can share one
transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from domain.changes import (
    Ref,
    choice,
    due_date,
    event,
    find,
    list_by_status,
    optional_text,
    record,
    reload,
    source_seq,
    text_list,
    title_of,
    transition,
)
from domain.events import RecordedEvent
from domain.ids import new_uuid
from domain.objects import (
    TODO,
    TODO_CANCELLED,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_PRIORITIES,
    TODO_REOPENED,
    TODO_STATUSES,
    Todo,
)
from domain.repositories import ObjectUnitOfWork

__all__ = [
    "Todo",
    "cancel_todo",
    "complete_todo",
    "create_todo",
    "get_todo",
    "list_todos",
    "reopen_todo",
]


async def create_todo(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    description: str | None = None,
    priority: str | None = "normal",
    due: date | str | None = None,
    tags: Iterable[str] = (),
    source_event_seq: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Todo, list[RecordedEvent]]:
    payload = {
        "title": title_of(title, TODO),
        "description": optional_text(description, "description"),
        "priority": choice(priority or "normal", TODO_PRIORITIES, "priority"),
        "due": None,
        "tags": text_list(tags, "tags"),
        "source_event_seq": source_seq(source_event_seq),
    }
    if (due_on := due_date(due)) is not None:
        payload["due"] = due_on.isoformat()
    payload["number"] = await uow.todos.next_number()
    todo_id = new_uuid()
    recorded = await record(uow, [event(TODO_CREATED, TODO, todo_id, payload, metadata)])
    return await reload(uow.todos, todo_id), recorded


async def complete_todo(
    uow: ObjectUnitOfWork, todo: Ref, *, metadata: Mapping[str, Any] | None = None
) -> tuple[Todo, list[RecordedEvent]]:
    return await transition(uow, uow.todos, TODO, todo, TODO_COMPLETED, ("open",), "done", metadata)


async def reopen_todo(
    uow: ObjectUnitOfWork, todo: Ref, *, metadata: Mapping[str, Any] | None = None
) -> tuple[Todo, list[RecordedEvent]]:
    return await transition(
        uow, uow.todos, TODO, todo, TODO_REOPENED, ("done", "cancelled"), "open", metadata
    )


async def cancel_todo(
    uow: ObjectUnitOfWork, todo: Ref, *, metadata: Mapping[str, Any] | None = None
) -> tuple[Todo, list[RecordedEvent]]:
    return await transition(
        uow, uow.todos, TODO, todo, TODO_CANCELLED, ("open",), "cancelled", metadata
    )


async def get_todo(uow: ObjectUnitOfWork, todo: Ref) -> Todo:
    return await find(uow.todos, todo, TODO)


async def list_todos(
    uow: ObjectUnitOfWork, status: str | None = "open", limit: int = 100
) -> list[Todo]:
    """Todos by number; status "all" or None lists every one."""
    return await list_by_status(uow.todos, status, TODO_STATUSES, limit)
