"""Todos: created open, then completed, cancelled or reopened, one event per change.

Each function takes a unit of work that is already open, so several can share one
transaction; none commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.changes import (
    UNSET,
    Due,
    Ref,
    _Unset,
    choice,
    due_text,
    due_value,
    edit,
    event,
    find,
    optional_text,
    record,
    reload,
    source_seq,
    text_list,
    title_of,
    transition,
    whole_history,
)
from domain.errors import InvalidInput
from domain.events import RecordedEvent
from domain.ids import new_uuid
from domain.listing import Page, page_of
from domain.objects import (
    TODO,
    TODO_CANCELLED,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_EDITED,
    TODO_PRIORITIES,
    TODO_REOPENED,
    Todo,
)
from domain.repositories import ObjectUnitOfWork
from domain.todo_filter import TodoFilter

__all__ = [
    "Todo",
    "cancel_todo",
    "complete_todo",
    "create_todo",
    "edit_todo",
    "get_todo",
    "page_todos",
    "reopen_todo",
]


async def create_todo(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    description: str | None = None,
    priority: str | None = "normal",
    due: Due | str | None = None,
    tags: Iterable[str] = (),
    source_event_seq: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> tuple[Todo, list[RecordedEvent]]:
    """`due`: a date, or an aware time (kept with its offset, the owner's)."""
    payload = {
        "title": title_of(title, TODO),
        "description": optional_text(description, "description"),
        "priority": choice(priority or "normal", TODO_PRIORITIES, "priority"),
        "due": due_text(due_value(due)),
        "tags": text_list(tags, "tags"),
        "source_event_seq": source_seq(source_event_seq),
    }
    payload["number"] = await uow.todos.next_number()
    todo_id = new_uuid()
    recorded = await record(uow, [event(TODO_CREATED, TODO, todo_id, payload, metadata, at)])
    return await reload(uow.todos, todo_id), recorded


async def edit_todo(
    uow: ObjectUnitOfWork,
    todo: Ref,
    *,
    title: str | _Unset = UNSET,
    description: str | None | _Unset = UNSET,
    priority: str | _Unset = UNSET,
    due: Due | str | None | _Unset = UNSET,
    tags: Iterable[str] | _Unset = UNSET,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Todo, list[RecordedEvent]]:
    """Change what is given (None clears a description or a due); records `todo.edited`
    with the fields that change and their values before, or nothing when none does."""
    changes: dict[str, Any] = {}
    if title is not UNSET:
        changes["title"] = title_of(title, TODO)
    if description is not UNSET:
        changes["description"] = optional_text(description, "description")
    if priority is not UNSET:
        changes["priority"] = choice(priority, TODO_PRIORITIES, "priority")
    if due is not UNSET:
        changes["due"] = due_text(due_value(due))
    if tags is not UNSET:
        changes["tags"] = text_list(tags, "tags")
    if not changes:
        raise InvalidInput("say what to change: title, description, priority, due or tags")
    found = await find(uow.todos, todo, TODO)
    as_stored = {"due": await _due_as_recorded(uow, found)} if "due" in changes else None
    return await edit(uow, uow.todos, TODO, found.id, TODO_EDITED, changes, metadata, as_stored)


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


async def page_todos(
    uow: ObjectUnitOfWork, filter: TodoFilter, after: str | None = None, limit: int = 100
) -> Page[Todo]:
    """The todos the filter keeps, in its order (domain/todo_filter.py), a page at a time."""
    return await page_of(
        filter.ordering,
        filter.key_readers,
        after,
        limit,
        lambda key, n: uow.todos.find(filter, key, n),
        filter.key_of,
        lambda: uow.todos.count(filter),
    )


async def _due_as_recorded(uow: ObjectUnitOfWork, todo: Todo) -> str | None:
    """The todo's due as its events wrote it: a time keeps the offset it was given in,
    which the read model (an instant in UTC and a day) cannot give back."""
    if todo.due_at is None:
        return due_text(todo.due)
    due = None
    for change in await whole_history(uow.events, todo.id):
        p = change.payload
        if change.type == TODO_CREATED:
            due = p.get("due")
        elif "due" in (values := p.get("changes") or p.get("restore") or {}):
            due = values["due"]
    return due
