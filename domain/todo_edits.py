"""What `/edit <n> <text>` changes in a todo: only what the new text states.

The text is read by the same rules as a new todo's (domain/rules_extractor.py): words
left after the markers are the new title; a date or time, a `!priority` and `#tags`
replace the todo's own; anything the text does not state stays as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.extraction import ExtractedTodo
from domain.rules_extractor import extract_item, stated_priority

# A placeholder title, so that a text of markers alone ("friday 9am !high") still reads
# as a todo; it is taken off the title again below.
_PLACEHOLDER = "x"


@dataclass(frozen=True)
class TodoEdit:
    changes: dict[str, Any] = field(default_factory=dict)  # edit_todo's keyword arguments
    unread_dates: tuple[str, ...] = ()


def read_todo_edit(text: str, *, now: datetime) -> TodoEdit:
    """`now` in the owner's zone, as for a new todo."""
    item = extract_item(f"todo: {_PLACEHOLDER} {text}", now=now)
    if not isinstance(item, ExtractedTodo):  # pragma: no cover - the placeholder is a title
        return TodoEdit()
    changes: dict[str, Any] = {}
    title = item.title.removeprefix(_PLACEHOLDER).strip()
    if title:
        changes["title"] = title
    if item.due is not None:
        changes["due"] = item.due
    if stated_priority(text) is not None:
        changes["priority"] = item.priority
    if item.tags:
        changes["tags"] = item.tags
    return TodoEdit(changes, item.unread_dates)
